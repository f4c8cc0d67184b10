"""The Usage report: last 30 UTC days per person and day, totals, chart rows and safe CSV."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from lib.budget import CreditBudget
from lib.usage import REPORT_DAYS, usage_report

TODAY = date(2026, 3, 31)


def _budget(tmp_path: Path) -> CreditBudget:
    budget = CreditBudget(tmp_path, daily_limit=0)
    budget.reserve("person-ana", 4, TODAY, label="ana@example.com")
    budget.reserve("person-ana", 1, TODAY, label="ana@example.com")
    budget.reserve("person-bob", 2, TODAY - timedelta(days=1), label="bob@example.com")
    budget.reserve("person-bob", 8, TODAY - timedelta(days=REPORT_DAYS - 1), label="bob@example.com")
    budget.reserve("person-bob", 100, TODAY - timedelta(days=REPORT_DAYS), label="bob@example.com")
    return budget


def test_report_covers_the_last_thirty_days(tmp_path: Path) -> None:
    """Spend on day 30 back is in the report, day 31 back is not; totals add up per person."""
    report = usage_report(_budget(tmp_path), today=TODAY)
    assert len(report.days) == REPORT_DAYS and report.days[-1] == TODAY
    assert report.total == 15
    assert report.totals_by_person() == {"bob@example.com": 10, "ana@example.com": 5}
    assert report.table()[0] == {"day": TODAY, "person": "ana@example.com", "credits": 5}


def test_chart_rows_have_every_day_and_person(tmp_path: Path) -> None:
    """The chart has a row for each of the 30 days and a column per person, zero-filled."""
    rows = usage_report(_budget(tmp_path), today=TODAY).chart_rows()
    assert len(rows) == REPORT_DAYS
    assert rows[-1] == {"day": TODAY, "ana@example.com": 5, "bob@example.com": 0}
    assert rows[-2]["bob@example.com"] == 2


def test_csv_lists_person_day_credits(tmp_path: Path) -> None:
    """CSV text has a header and one line per person and day, newest first."""
    lines = usage_report(_budget(tmp_path), today=TODAY).csv_text().splitlines()
    assert lines[0] == "day,person,credits"
    assert lines[1] == "2026-03-31,ana@example.com,5"
    assert len(lines) == 4


def test_csv_neutralises_spreadsheet_formulas(tmp_path: Path) -> None:
    """A person label that looks like a formula is written as text, not run by a spreadsheet."""
    budget = CreditBudget(tmp_path, daily_limit=0)
    budget.reserve("person-eve", 1, TODAY, label="=HYPERLINK(\"http://evil.example\")")
    text = usage_report(budget, today=TODAY).csv_text()
    assert "'=HYPERLINK" in text


def test_empty_report(tmp_path: Path) -> None:
    """With no spend the report is empty but still spans 30 days."""
    report = usage_report(CreditBudget(tmp_path, daily_limit=5), today=TODAY)
    assert report.total == 0 and report.table() == [] and len(report.chart_rows()) == REPORT_DAYS
    assert report.csv_text() == "day,person,credits\n"
