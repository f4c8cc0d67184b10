"""The daily credit budget in PostgreSQL, shared by every replica of a deployment.

Same rules as the SQLite ledger (lib/budget.py). A reservation is ONE statement: a conditional upsert
that adds the cost only while the day's total stays within the limit, chained to the insert of the
reservation row. PostgreSQL locks the person's row for the upsert and checks the limit against the
latest committed total, so any number of connections on any number of machines racing for the last
credits can never overspend. Settling or releasing is one statement too.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import date

import psycopg
from psycopg import Connection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from lib.budget import BudgetLedger, BudgetRefusal, CreditBudget, DailySpend, Reservation, utc_today
from lib.config import StorageSettings
from lib.errors import ImageStudioError
from lib.shared_store.schema import MIGRATION_LOCK_KEY, SchemaTooNewError

logger = logging.getLogger(__name__)

COMPONENT = "budget"
# The budget's row in the schema_version table the history store keeps (one row per component).
_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    component TEXT PRIMARY KEY,
    version   INTEGER NOT NULL
)
"""

_MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE budget_spend (
    person  TEXT    NOT NULL,
    day     DATE    NOT NULL,
    credits INTEGER NOT NULL CHECK (credits >= 0),
    label   TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (person, day)
);
CREATE INDEX budget_spend_day ON budget_spend (day);
CREATE TABLE budget_reservations (
    id         BIGSERIAL   PRIMARY KEY,
    person     TEXT        NOT NULL,
    day        DATE        NOT NULL,
    credits    INTEGER     NOT NULL,
    state      TEXT        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'settled', 'released')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
""",
}
SCHEMA_VERSION = max(_MIGRATIONS)

# The upsert's WHERE is the limit check on a repeat spend; the SELECT's WHERE the one on a first spend.
# The reservation row is inserted only when the upsert returned a row, i.e. when the cost fitted.
_RESERVE = """
WITH counted AS (
    INSERT INTO budget_spend AS spend (person, day, credits, label)
    SELECT %(person)s, %(day)s, %(credits)s, %(label)s WHERE %(limit)s = 0 OR %(credits)s <= %(limit)s
    ON CONFLICT (person, day) DO UPDATE
        SET credits = spend.credits + excluded.credits,
            label = CASE WHEN excluded.label = '' THEN spend.label ELSE excluded.label END
        WHERE %(limit)s = 0 OR spend.credits + excluded.credits <= %(limit)s
    RETURNING person, day
)
INSERT INTO budget_reservations (person, day, credits)
SELECT person, day, %(credits)s FROM counted
RETURNING id
"""
# Closes an open reservation once and corrects the day's total by the stored reserved amount.
_CLOSE = """
WITH closed AS (
    UPDATE budget_reservations SET state = %(state)s
    WHERE id = %(id)s AND state = 'open'
    RETURNING person, day, credits
)
UPDATE budget_spend AS spend SET credits = GREATEST(0, spend.credits - closed.credits + %(actual)s)
FROM closed WHERE spend.person = closed.person AND spend.day = closed.day
"""


class BudgetUnavailableError(ImageStudioError):
    """The budget database could not be reached: no paid call is made without counting it."""


UNAVAILABLE = ("The team budget can't be checked right now (its database is unreachable), so nothing was "
               "sent. Try again in a minute; if it keeps happening, tell whoever runs Image Studio.")


def open_ledger(storage: StorageSettings, daily_limit: int) -> BudgetLedger:
    """The budget ledger where the deployment keeps rows: PostgreSQL in shared mode, else the data folder."""
    if storage.shared and storage.database_url:
        return PostgresCreditBudget(storage.database_url, daily_limit)
    assert storage.data_dir is not None  # embedded storage always names its folder
    return CreditBudget(storage.data_dir, daily_limit)


class PostgresCreditBudget(BudgetLedger):
    """Daily spend per person in PostgreSQL, with `daily_limit` credits each (0 = no limit)."""

    def __init__(self, database_url: str, daily_limit: int, *, max_connections: int = 4,
                 connect_timeout: float = 10.0) -> None:
        self.daily_limit = max(0, int(daily_limit))
        # Autocommit: every statement we send is a whole transaction of its own. The pool's timeout bounds
        # how long a paid click waits for a connection before it is refused in plain words.
        self._pool: ConnectionPool[Connection[DictRow]] = ConnectionPool(
            database_url, min_size=1, max_size=max(1, max_connections), timeout=connect_timeout, open=True,
            kwargs={"autocommit": True, "row_factory": dict_row,
                    "connect_timeout": max(1, int(connect_timeout))},
            name="image-studio-budget",
        )
        try:
            with _reachable():
                self._pool.wait(timeout=connect_timeout)
                self._migrate()
        except BaseException:
            self._pool.close()
            raise

    def reserve(
        self, person: str, credits: int, day: date | None = None, *, label: str = ""
    ) -> Reservation | BudgetRefusal:
        """Set `credits` aside for a paid call, or refuse when today's spend would pass the limit."""
        day = day or utc_today()
        params = {"person": person, "day": day, "credits": int(credits), "label": label,
                  "limit": self.daily_limit}
        with _reachable(), self._pool.connection() as db:
            row = db.execute(_RESERVE, params).fetchone()
            if row is not None:
                return Reservation(id=int(row["id"]), person=person, day=day, credits=int(credits))
            spent = self._spent(db, person, day)
        return self._refusal(int(credits), spent, day)

    def spent(self, person: str, day: date | None = None) -> int:
        """Credits the person has spent (or has reserved) on a UTC day, today by default."""
        with _reachable(), self._pool.connection() as db:
            return self._spent(db, person, day or utc_today())

    def daily_spend(self, since: date) -> list[DailySpend]:
        """Every person's spend per day from `since` on, oldest day first."""
        with _reachable(), self._pool.connection() as db:
            rows = db.execute("SELECT person, label, day, credits FROM budget_spend WHERE day >= %s "
                              "ORDER BY day, person", (since,)).fetchall()
        return [DailySpend(person=row["person"], label=row["label"], day=row["day"], credits=row["credits"])
                for row in rows]

    def close(self) -> None:
        """Close the connection pool."""
        self._pool.close()

    def _close(self, reservation: Reservation, state: str, actual: int) -> None:
        """Close an open reservation once; settling or releasing it again changes nothing."""
        # Runs after the paid call: failing here would lose a result already paid for. The full reserved
        # amount then stays counted, which errs against the person by at most one call's difference.
        try:
            with self._pool.connection() as db:
                db.execute(_CLOSE, {"state": state, "id": reservation.id, "actual": actual})
        except psycopg.Error as problem:
            logger.warning("Budget reservation %d left at its reserved amount (%s: database unreachable)",
                           reservation.id, type(problem).__name__)

    @staticmethod
    def _spent(db: Connection[DictRow], person: str, day: date) -> int:
        row = db.execute("SELECT credits FROM budget_spend WHERE person = %s AND day = %s",
                         (person, day)).fetchone()
        return int(row["credits"]) if row else 0

    def _migrate(self) -> None:
        """Bring the budget tables to SCHEMA_VERSION, under the lock every schema change of the app takes."""
        # The history store's lock: replicas take turns, and the two stores never create schema_version at
        # the same moment (concurrent CREATE TABLE IF NOT EXISTS can collide in PostgreSQL).
        with self._pool.connection() as db:
            db.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
            try:
                db.execute(_VERSION_TABLE)
                row = db.execute("SELECT version FROM schema_version WHERE component = %s",
                                 (COMPONENT,)).fetchone()
                found = int(row["version"]) if row else 0
                if found > SCHEMA_VERSION:
                    raise SchemaTooNewError(
                        f"The budget tables have schema version {found}, but this release of Image Studio "
                        f"knows versions up to {SCHEMA_VERSION}: run the newer release on every replica "
                        "(this one will not serve, so as not to miscount anyone's spend).")
                for version in range(found + 1, SCHEMA_VERSION + 1):
                    with db.transaction():
                        db.execute(_MIGRATIONS[version])  # several statements: no parameters
                        db.execute("INSERT INTO schema_version (component, version) VALUES (%s, %s) "
                                   "ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version",
                                   (COMPONENT, version))
            finally:
                db.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))


@contextlib.contextmanager
def _reachable() -> Iterator[None]:
    """Turn the database's failures into one plain error; its text may name the host, so it is left out."""
    try:
        yield
    except psycopg.Error as problem:
        raise BudgetUnavailableError(UNAVAILABLE) from problem
