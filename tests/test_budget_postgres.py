"""The daily credit budget in PostgreSQL: the SQLite ledger's behaviour tests, replicas racing, the schema."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from lib.budget import BudgetRefusal, Reservation
from lib.budget_postgres import COMPONENT, SCHEMA_VERSION, PostgresCreditBudget
from lib.shared_store import SchemaTooNewError
from lib.shared_store.schema import migrate as migrate_history
from tests.test_budget import (  # noqa: F401  (collected here again, on the PostgreSQL ledger below)
    ANA,
    LedgerFactory,
    test_a_cost_bigger_than_the_whole_budget_is_refused,
    test_charged_settles_releases_and_refuses,
    test_daily_spend_lists_days_since,
    test_fifty_threads_racing_never_overspend,
    test_no_limit_still_counts_spend,
    test_people_and_days_have_separate_budgets,
    test_release_gives_the_reservation_back,
    test_require_room_checks_without_reserving,
    test_reserve_within_budget_then_refuse_with_what_is_left,
    test_settle_replaces_the_reserved_amount_once,
)


@pytest.fixture
def new_ledger(postgres_url: str) -> Iterator[LedgerFactory]:
    """A maker of PostgreSQL ledgers on this test's own database, closed afterwards."""
    ledgers: list[PostgresCreditBudget] = []

    def make(daily_limit: int) -> PostgresCreditBudget:
        ledgers.append(PostgresCreditBudget(postgres_url, daily_limit))
        return ledgers[-1]

    yield make
    for ledger in ledgers:
        ledger.close()


def test_fifty_threads_over_two_replicas_never_overspend(postgres_url: str) -> None:
    """50 threads on two pools (two replicas) reserving 4 credits against 40: exactly 10 succeed."""
    replicas = [PostgresCreditBudget(postgres_url, 40, max_connections=25) for _ in range(2)]
    start = threading.Barrier(50)
    results: list[Reservation | BudgetRefusal] = []
    lock = threading.Lock()

    def spend(replica: PostgresCreditBudget) -> None:
        start.wait()
        outcome = replica.reserve(ANA, 4)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=spend, args=(replicas[index % 2],)) for index in range(50)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        granted = [result for result in results if isinstance(result, Reservation)]
        assert len(granted) == 10 and len({result.id for result in granted}) == 10
        assert replicas[0].spent(ANA) == replicas[1].spent(ANA) == 40
        # What one replica releases, the other can spend straight away.
        replicas[0].release(granted[0])
        assert isinstance(replicas[1].reserve(ANA, 4), Reservation)
        assert isinstance(replicas[1].reserve(ANA, 1), BudgetRefusal)
    finally:
        for replica in replicas:
            replica.close()


def test_replicas_starting_together_create_the_schema_once(postgres_url: str) -> None:
    """Replicas opening the ledger and the history schema at once all start; each part records its version."""
    errors: list[BaseException] = []
    ledgers: list[PostgresCreditBudget] = []
    start = threading.Barrier(6)

    def open_ledger() -> None:
        start.wait()
        try:
            ledgers.append(PostgresCreditBudget(postgres_url, 10, max_connections=1))
        except BaseException as error:
            errors.append(error)

    def open_history() -> None:
        start.wait()
        try:
            with psycopg.connect(postgres_url, autocommit=True) as db:
                migrate_history(db)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_ledger) for _ in range(4)]
    threads += [threading.Thread(target=open_history) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for ledger in ledgers:
        ledger.close()
    assert errors == [] and len(ledgers) == 4
    with psycopg.connect(postgres_url) as db:
        versions = dict(db.execute("SELECT component, version FROM schema_version").fetchall())
    assert versions[COMPONENT] == SCHEMA_VERSION and versions["history"] >= 1


def test_a_replica_refuses_a_newer_schema(postgres_url: str) -> None:
    """A replica finding a budget schema newer than it knows refuses to start, naming both versions."""
    PostgresCreditBudget(postgres_url, 10).close()
    with psycopg.connect(postgres_url) as db:
        db.execute("UPDATE schema_version SET version = %s WHERE component = %s",
                   (SCHEMA_VERSION + 1, COMPONENT))
    with pytest.raises(SchemaTooNewError, match=f"version {SCHEMA_VERSION + 1}"):
        PostgresCreditBudget(postgres_url, 10)


def test_spend_survives_a_replica_restart(postgres_url: str) -> None:
    """Spend lives in the database: a replica started later sees what an earlier one reserved."""
    first = PostgresCreditBudget(postgres_url, 10)
    reservation = first.reserve(ANA, 4, label="ana@example.com")
    first.close()
    assert isinstance(reservation, Reservation)
    second = PostgresCreditBudget(postgres_url, 10)
    try:
        second.settle(reservation, 1)
        assert second.spent(ANA) == 1
        assert [row.label for row in second.daily_spend(reservation.day)] == ["ana@example.com"]
    finally:
        second.close()
