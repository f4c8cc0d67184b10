"""Usage (admins only): credits each person spent on the team's key per UTC day, last 30 days, as CSV too."""

import streamlit as st

from lib.contract import credits_text
from lib.ui import sign_in
from lib.usage import REPORT_DAYS, usage_report

sign_in.require_admin()
st.title("Usage")
st.caption(f"Credits each person spent on the team's key, per UTC day, over the last {REPORT_DAYS} days. "
           "People using their own key are not counted.")
report = usage_report(sign_in.team_ledger())

total_column, people_column = st.columns(2)
total_column.metric("Total", credits_text(report.total))
people_column.metric("People", len(report.totals_by_person()))
if not report.spend:
    st.info("Nobody has spent credits on the team's key in this period.", icon=":material/info:")
    st.stop()

chart = report.chart_rows()
st.bar_chart({column: [row[column] for row in chart] for column in chart[0]}, x="day", y_label="credits")
st.subheader("Per person")
st.dataframe([{"person": person, "credits": total} for person, total in report.totals_by_person().items()],
             hide_index=True)
st.subheader("Per person and day")
st.dataframe(report.table(), hide_index=True)
st.download_button("Download CSV", data=report.csv_text(), mime="text/csv", key="usage_download_csv",
                   file_name=f"image-studio-usage-{report.last_day}.csv", on_click="ignore",
                   icon=":material/download:")
