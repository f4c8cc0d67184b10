"""The Usage report: credits each person spent per UTC day over the last 30 days, totals, and CSV text."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from lib.budget import BudgetLedger, DailySpend, utc_today

REPORT_DAYS = 30
CSV_COLUMNS = ("day", "person", "credits")
# A spreadsheet runs a cell that starts with one of these as a formula: such text is quoted with '.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class UsageReport:
    """Who spent what on which day, from `first_day` to `last_day` inclusive."""

    first_day: date
    last_day: date
    spend: tuple[DailySpend, ...]

    @property
    def days(self) -> list[date]:
        """Every day of the report, oldest first."""
        return [self.first_day + timedelta(days=n) for n in range((self.last_day - self.first_day).days + 1)]

    @property
    def total(self) -> int:
        """Credits spent by everyone over the whole report."""
        return sum(row.credits for row in self.spend)

    def totals_by_person(self) -> dict[str, int]:
        """Credits per person over the whole report, biggest spender first."""
        totals: dict[str, int] = {}
        for row in self.spend:
            totals[person_name(row)] = totals.get(person_name(row), 0) + row.credits
        return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))

    def table(self) -> list[dict[str, object]]:
        """One row per person and day with spend, newest day first (what the Usage page lists)."""
        rows = sorted(self.spend, key=lambda row: (-row.day.toordinal(), person_name(row)))
        return [{"day": row.day, "person": person_name(row), "credits": row.credits} for row in rows]

    def chart_rows(self) -> list[dict[str, object]]:
        """One row per day with a column per person (zero where they spent nothing), for a bar chart."""
        people = sorted(self.totals_by_person())
        credits = {day: dict.fromkeys(people, 0) for day in self.days}
        for row in self.spend:
            credits[row.day][person_name(row)] += row.credits
        return [{"day": day, **spent} for day, spent in credits.items()]

    def csv_text(self) -> str:
        """The table as CSV (day, person, credits), safe to open in a spreadsheet."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in self.table():
            writer.writerow([row["day"], _spreadsheet_safe(str(row["person"])), row["credits"]])
        return out.getvalue()


def usage_report(budget: BudgetLedger, *, today: date | None = None, days: int = REPORT_DAYS) -> UsageReport:
    """The last `days` UTC days of spend, today included; days with nothing spent have no rows."""
    last_day = today or utc_today()
    first_day = last_day - timedelta(days=days - 1)
    spend = tuple(row for row in budget.daily_spend(first_day) if row.day <= last_day and row.credits > 0)
    return UsageReport(first_day=first_day, last_day=last_day, spend=spend)


def person_name(row: DailySpend) -> str:
    """How the report names a person: their e-mail (or name) when known, else a short form of their key."""
    return row.label or row.person[:20]


def _spreadsheet_safe(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
