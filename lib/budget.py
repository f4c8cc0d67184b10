"""Each person's daily credit budget on the team's key: reserve before a paid call, settle or release after.

The ledger is one SQLite file in the data folder (budget.sqlite3). A reservation is one conditional upsert
inside `BEGIN IMMEDIATE`, so two tabs, two threads or two processes on one machine racing for the last
credits can never overspend: SQLite lets one writer at a time through, and the upsert only adds the cost
when it still fits. Several machines need a shared database instead; the interface (reserve, settle,
release, spent, daily_spend) is the `BudgetLedger` base, which lib/budget_postgres.py also fills in.
"""

from __future__ import annotations

import abc
import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from lib.contract import credits_text
from lib.errors import APIConnectionError, APITimeoutError, ImageStudioError, UnexpectedResponseError

DATABASE_NAME = "budget.sqlite3"
_BUSY_TIMEOUT_SECONDS = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spend (
    person  TEXT NOT NULL,
    day     TEXT NOT NULL,
    credits INTEGER NOT NULL,
    label   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (person, day)
);
CREATE TABLE IF NOT EXISTS reservations (
    id      INTEGER PRIMARY KEY,
    person  TEXT NOT NULL,
    day     TEXT NOT NULL,
    credits INTEGER NOT NULL,
    state   TEXT NOT NULL DEFAULT 'open'
);
"""
# Adds the cost to today's row (creating it) only if the total stays within the limit (0 = no limit).
# SQLite needs a WHERE on the SELECT of an upsert to parse it; ours is the limit check for a first spend.
_RESERVE = """
INSERT INTO spend (person, day, credits, label)
SELECT :person, :day, :credits, :label WHERE :limit = 0 OR :credits <= :limit
ON CONFLICT (person, day) DO UPDATE
    SET credits = spend.credits + excluded.credits,
        label = CASE WHEN excluded.label = '' THEN spend.label ELSE excluded.label END
    WHERE :limit = 0 OR spend.credits + excluded.credits <= :limit
"""


class BudgetExceededError(ImageStudioError):
    """The click would take the person over their daily budget: nothing was sent to the API."""


@dataclass(frozen=True)
class Reservation:
    """Credits set aside for one paid call, until it is settled or released."""

    id: int
    person: str
    day: date
    credits: int


@dataclass(frozen=True)
class BudgetRefusal:
    """Why a reservation was refused: what it would cost, what is left today, and when the day resets."""

    credits: int
    left: int
    limit: int
    resets_at: datetime

    @property
    def message(self) -> str:
        """The refusal in plain words: the word "budget", how much is left and when it resets."""
        return (
            f"This would go over your daily budget: it costs {credits_text(self.credits)} and you have "
            f"{credits_text(self.left)} left of {self.limit:,} today. "
            f"Your budget resets at {self.resets_at:%H:%M} UTC ({_in_words(self.resets_at)})."
        )


@dataclass(frozen=True)
class DailySpend:
    """Credits one person spent on one UTC day."""

    person: str
    label: str
    day: date
    credits: int


def utc_today() -> date:
    """Today's date in UTC: the budget's day."""
    return datetime.now(UTC).date()


def resets_at(day: date) -> datetime:
    """When a day's budget resets: the next midnight UTC."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=UTC)


def spent_nothing(error: BaseException) -> bool:
    """True when a failed call surely cost nothing, so its reservation goes back to the person."""
    if not isinstance(error, ImageStudioError):
        return True  # raised by our own checks (e.g. an unusable upload) before anything was sent
    # A timeout, a broken connection or an unreadable answer may have been charged: keep those counted.
    return not isinstance(error, APITimeoutError | APIConnectionError | UnexpectedResponseError)


class BudgetLedger(abc.ABC):
    """A ledger of daily spend per person (SQLite here, PostgreSQL in lib/budget_postgres.py)."""

    daily_limit: int

    @abc.abstractmethod
    def reserve(
        self, person: str, credits: int, day: date | None = None, *, label: str = ""
    ) -> Reservation | BudgetRefusal:
        """Set `credits` aside for a paid call, or refuse when today's spend would pass the limit."""

    def settle(self, reservation: Reservation, actual_credits: int | None) -> None:
        """Replace the reserved amount by what the call really cost (None: what was reserved)."""
        actual = reservation.credits if actual_credits is None else max(0, int(actual_credits))
        self._close(reservation, "settled", actual)

    def release(self, reservation: Reservation) -> None:
        """Give the reserved credits back: the call failed having spent nothing."""
        self._close(reservation, "released", 0)

    @abc.abstractmethod
    def _close(self, reservation: Reservation, state: str, actual: int) -> None:
        """Mark an open reservation settled or released at `actual` credits (once; later calls do nothing)."""

    @abc.abstractmethod
    def spent(self, person: str, day: date | None = None) -> int:
        """Credits the person has spent (or has reserved) on a UTC day, today by default."""

    @abc.abstractmethod
    def daily_spend(self, since: date) -> list[DailySpend]:
        """Every person's spend per day from `since` on, oldest day first."""

    @abc.abstractmethod
    def close(self) -> None:
        """Let go of the ledger's connections."""

    def refusal(self, person: str, credits: int, day: date | None = None) -> BudgetRefusal | None:
        """Why `credits` would not fit in the person's budget now; None when they would (reserves nothing)."""
        day = day or utc_today()
        spent = self.spent(person, day)
        if self.daily_limit == 0 or spent + credits <= self.daily_limit:
            return None
        return self._refusal(credits, spent, day)

    def _refusal(self, credits: int, spent: int, day: date) -> BudgetRefusal:
        return BudgetRefusal(credits=credits, left=max(0, self.daily_limit - spent), limit=self.daily_limit,
                             resets_at=resets_at(day))


class CreditBudget(BudgetLedger):
    """Daily spend per person in the data folder, with `daily_limit` credits each (0 = no limit)."""

    def __init__(self, folder: str | Path, daily_limit: int) -> None:
        self.path = Path(folder) / DATABASE_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.daily_limit = max(0, int(daily_limit))
        # One connection per thread: sqlite3 connections must not be shared across threads.
        self._local = threading.local()
        self._connection().executescript(_SCHEMA)

    def reserve(
        self, person: str, credits: int, day: date | None = None, *, label: str = ""
    ) -> Reservation | BudgetRefusal:
        """Set `credits` aside for a paid call, or refuse when today's spend would pass the limit."""
        day = day or utc_today()
        params = {"person": person, "day": day.isoformat(), "credits": int(credits), "label": label,
                  "limit": self.daily_limit}
        with self._transaction() as db:
            if db.execute(_RESERVE, params).rowcount == 1:
                cursor = db.execute("INSERT INTO reservations (person, day, credits) VALUES (?, ?, ?)",
                                    (person, day.isoformat(), int(credits)))
                return Reservation(id=int(cursor.lastrowid or 0), person=person, day=day,
                                   credits=int(credits))
            spent = self._spent(db, person, day)
        return self._refusal(int(credits), spent, day)

    def spent(self, person: str, day: date | None = None) -> int:
        """Credits the person has spent (or has reserved) on a UTC day, today by default."""
        with self._transaction() as db:
            return self._spent(db, person, day or utc_today())

    def daily_spend(self, since: date) -> list[DailySpend]:
        """Every person's spend per day from `since` on, oldest day first."""
        with self._transaction() as db:
            rows = db.execute("SELECT person, label, day, credits FROM spend WHERE day >= ? "
                              "ORDER BY day, label, person", (since.isoformat(),)).fetchall()
        return [DailySpend(person=row["person"], label=row["label"], day=date.fromisoformat(row["day"]),
                           credits=row["credits"]) for row in rows]

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def _close(self, reservation: Reservation, state: str, actual: int) -> None:
        """Close an open reservation once; settling or releasing it again changes nothing."""
        with self._transaction() as db:
            closed = db.execute("UPDATE reservations SET state = ? WHERE id = ? AND state = 'open'",
                                (state, reservation.id)).rowcount
            if closed:
                db.execute("UPDATE spend SET credits = MAX(0, credits - ? + ?) WHERE person = ? AND day = ?",
                           (reservation.credits, actual, reservation.person, reservation.day.isoformat()))

    @staticmethod
    def _spent(db: sqlite3.Connection, person: str, day: date) -> int:
        row = db.execute("SELECT credits FROM spend WHERE person = ? AND day = ?",
                         (person, day.isoformat())).fetchone()
        return int(row["credits"]) if row else 0

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            # isolation_level=None: we open transactions ourselves, IMMEDIATE so the write lock comes first.
            db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            # Commits skip the disk flush (WAL stays consistent; a power cut may forget the last few
            # reservations): it makes the check per paid call ~100x cheaper, and a lost count errs in the
            # person's favour by a call or two at most.
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


@dataclass(frozen=True)
class PersonalBudget:
    """One person's view of the team budget: the shared ledger, their key, and how reports name them."""

    ledger: BudgetLedger
    person: str
    label: str = ""

    def spent_today(self) -> int:
        """Credits this person has spent (or has reserved) today."""
        return self.ledger.spent(self.person)

    @property
    def daily_limit(self) -> int:
        """Credits each person may spend per UTC day (0 = no limit)."""
        return self.ledger.daily_limit


@dataclass
class Charge:
    """A paid call in progress: set `actual` to what the server reported it cost, if it did."""

    actual: int | None = None


def require_room(budget: PersonalBudget | None, credits: int) -> None:
    """Raise BudgetExceededError when `credits` would not fit today (a check before several calls)."""
    refusal = budget.ledger.refusal(budget.person, credits) if budget is not None else None
    if refusal is not None:
        raise BudgetExceededError(refusal.message)


@contextlib.contextmanager
def charged(budget: PersonalBudget | None, credits: int) -> Iterator[Charge]:
    """Reserve `credits` for the call inside the block; settle after, or release if it spent nothing.

    Raises BudgetExceededError, before the block runs, when the person's budget has no room. With no
    budget (sign-in off, or someone using their own key) it only runs the block.
    """
    charge = Charge()
    if budget is None:
        yield charge
        return
    reservation = budget.ledger.reserve(budget.person, credits, label=budget.label)
    if isinstance(reservation, BudgetRefusal):
        raise BudgetExceededError(reservation.message)
    try:
        yield charge
    except BaseException as error:
        if spent_nothing(error):
            budget.ledger.release(reservation)
        else:
            budget.ledger.settle(reservation, None)
        raise
    budget.ledger.settle(reservation, charge.actual)


def _in_words(moment: datetime) -> str:
    """How long until a moment, roughly: "in 5 h 12 min", "in 3 min"."""
    minutes = max(1, int((moment - datetime.now(UTC)).total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"in {hours} h {minutes} min" if hours else f"in {minutes} min"
