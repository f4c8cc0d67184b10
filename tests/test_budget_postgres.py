"""The daily credit budget in PostgreSQL: the SQLite ledger's behaviour tests, replicas racing, the schema."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from lib.budget import BudgetRefusal, CreditBudget, Reservation
from lib.budget_postgres import (
    COMPONENT,
    SCHEMA_VERSION,
    BudgetUnavailableError,
    PostgresCreditBudget,
    open_ledger,
)
from lib.config import (
    API_KEY_NAME,
    DATABASE_URL_NAME,
    ENDPOINT_NAME,
    S3_BUCKET_NAME,
    S3_ENDPOINT_NAME,
    StorageSettings,
)
from lib.shared_store import SchemaTooNewError
from lib.shared_store.schema import migrate as migrate_history
from lib.team import person_key
from tests.postgres_server import PostgresServer
from tests.test_app_team import ANA as ANA_SIGNED_IN
from tests.test_app_team import AUTH, ISSUER, generate, open_as, sidebar_texts
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
def database_url(postgres_url: str) -> Iterator[str]:
    """This module's database, its budget rows emptied after each test (one person's spend starts at zero)."""
    yield postgres_url
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("DO $$ BEGIN IF to_regclass('budget_spend') IS NOT NULL THEN "
                   "TRUNCATE budget_spend, budget_reservations; END IF; END $$")


@pytest.fixture
def empty_database(postgres_server: PostgresServer) -> Iterator[str]:
    """A database of this test's own with no tables at all, for the schema's own tests."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
def new_ledger(database_url: str) -> Iterator[LedgerFactory]:
    """A maker of PostgreSQL ledgers on this test's own database, closed afterwards."""
    ledgers: list[PostgresCreditBudget] = []

    def make(daily_limit: int) -> PostgresCreditBudget:
        ledgers.append(PostgresCreditBudget(database_url, daily_limit))
        return ledgers[-1]

    yield make
    for ledger in ledgers:
        ledger.close()


def test_fifty_threads_over_two_replicas_never_overspend(database_url: str) -> None:
    """50 threads on two pools (two replicas) reserving 4 credits against 40: exactly 10 succeed."""
    replicas = [PostgresCreditBudget(database_url, 40, max_connections=25) for _ in range(2)]
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


def test_replicas_starting_together_create_the_schema_once(empty_database: str) -> None:
    """Replicas opening the ledger and the history schema at once all start; each part records its version."""
    errors: list[BaseException] = []
    ledgers: list[PostgresCreditBudget] = []
    start = threading.Barrier(6)

    def open_ledger() -> None:
        start.wait()
        try:
            ledgers.append(PostgresCreditBudget(empty_database, 10, max_connections=1))
        except BaseException as error:
            errors.append(error)

    def open_history() -> None:
        start.wait()
        try:
            with psycopg.connect(empty_database, autocommit=True) as db:
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
    with psycopg.connect(empty_database) as db:
        versions = dict(db.execute("SELECT component, version FROM schema_version").fetchall())
    assert versions[COMPONENT] == SCHEMA_VERSION and versions["history"] >= 1


def test_a_replica_refuses_a_newer_schema(empty_database: str) -> None:
    """A replica finding a budget schema newer than it knows refuses to start, naming both versions."""
    PostgresCreditBudget(empty_database, 10).close()
    with psycopg.connect(empty_database) as db:
        db.execute("UPDATE schema_version SET version = %s WHERE component = %s",
                   (SCHEMA_VERSION + 1, COMPONENT))
    with pytest.raises(SchemaTooNewError, match=f"version {SCHEMA_VERSION + 1}"):
        PostgresCreditBudget(empty_database, 10)


def test_spend_survives_a_replica_restart(database_url: str) -> None:
    """Spend lives in the database: a replica started later sees what an earlier one reserved."""
    first = PostgresCreditBudget(database_url, 10)
    reservation = first.reserve(ANA, 4, label="ana@example.com")
    first.close()
    assert isinstance(reservation, Reservation)
    second = PostgresCreditBudget(database_url, 10)
    try:
        second.settle(reservation, 1)
        assert second.spent(ANA) == 1
        assert [row.label for row in second.daily_spend(reservation.day)] == ["ana@example.com"]
    finally:
        second.close()


def test_shared_storage_puts_the_budget_in_postgresql(database_url: str, tmp_path: Path) -> None:
    """In shared mode every replica's ledger is the one database; embedded mode, the data folder's file."""
    shared = StorageSettings(mode="shared", database_url=database_url)
    replicas = [open_ledger(shared, 8) for _ in range(2)]
    try:
        assert all(isinstance(replica, PostgresCreditBudget) for replica in replicas)
        assert isinstance(replicas[0].reserve(ANA, 4), Reservation)
        assert isinstance(replicas[1].reserve(ANA, 4), Reservation)
        assert isinstance(replicas[1].reserve(ANA, 1), BudgetRefusal)
    finally:
        for replica in replicas:
            replica.close()
    embedded = open_ledger(StorageSettings(mode="embedded", data_dir=tmp_path), 8)
    assert isinstance(embedded, CreditBudget) and embedded.spent(ANA) == 0
    assert (tmp_path / "budget.sqlite3").exists()
    embedded.close()


def test_an_unreachable_database_refuses_in_plain_words(postgres_server: PostgresServer) -> None:
    """A lost database refuses paid calls with a plain budget message (no address); settling never raises."""
    url = postgres_server.create_database()
    ledger = PostgresCreditBudget(url, 10, connect_timeout=1)
    try:
        reservation = ledger.reserve(ANA, 4)
        assert isinstance(reservation, Reservation)
        postgres_server.drop_database(url)  # closes the ledger's connections too
        with pytest.raises(BudgetUnavailableError, match="budget can't be checked") as refused:
            ledger.reserve(ANA, 4)
        assert "127.0.0.1" not in str(refused.value) and str(postgres_server.port) not in str(refused.value)
        ledger.settle(reservation, 1)  # after a paid call: logged, never turned into a lost result
    finally:
        ledger.close()
    with pytest.raises(BudgetUnavailableError):
        PostgresCreditBudget(url, 10, connect_timeout=1)


def test_the_app_counts_what_other_replicas_spent(database_url: str, s3_bucket: str, seaweedfs_server,
                                                  fault_server) -> None:
    """In shared mode the app's budget is the database's: spend made on another replica counts here."""
    fault_server.reset()
    other_replica = PostgresCreditBudget(database_url, 5)
    try:
        assert isinstance(other_replica.reserve(person_key(ISSUER, "ana"), 4), Reservation)
    finally:
        other_replica.close()
    secrets = {API_KEY_NAME: "sk_test_team_key", ENDPOINT_NAME: fault_server.endpoint("ok"), "auth": AUTH,
               DATABASE_URL_NAME: database_url, S3_ENDPOINT_NAME: seaweedfs_server.endpoint,
               S3_BUCKET_NAME: s3_bucket, "team": {"daily_credit_budget": 5}}
    at = open_as(ANA_SIGNED_IN, secrets)
    assert "today: 4 of 5 credits" in sidebar_texts(at)
    generate(at)
    assert fault_server.posts() == []
