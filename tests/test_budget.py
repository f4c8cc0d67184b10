"""The daily credit budget: atomic reservations across threads and processes, settle, release, refusals."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from lib.budget import (
    BudgetExceededError,
    BudgetLedger,
    BudgetRefusal,
    CreditBudget,
    PersonalBudget,
    Reservation,
    charged,
    require_room,
    spent_nothing,
    utc_today,
)
from lib.client import ImageStudioClient
from lib.errors import (
    APITimeoutError,
    ImageStudioError,
    InsufficientCreditsError,
    InvalidRequestError,
    ServerError,
)
from lib.store import HistoryStore
from lib.workspace import Workspace

ANA = "person-ana-0123456789abcdef"
BOB = "person-bob"

LedgerFactory = Callable[[int], BudgetLedger]


@pytest.fixture
def new_ledger(tmp_path: Path) -> LedgerFactory:
    """A maker of empty ledgers by daily limit; tests/test_budget_postgres.py reruns these on PostgreSQL."""
    return lambda daily_limit: CreditBudget(tmp_path, daily_limit)


def test_reserve_within_budget_then_refuse_with_what_is_left(new_ledger: LedgerFactory) -> None:
    """Reservations add up to the limit; the next one is refused naming the budget, what is left and when."""
    budget = new_ledger(10)
    assert isinstance(budget.reserve(ANA, 4), Reservation)
    assert isinstance(budget.reserve(ANA, 4), Reservation)
    refusal = budget.reserve(ANA, 4)
    assert isinstance(refusal, BudgetRefusal)
    assert refusal.left == 2 and refusal.limit == 10
    assert "budget" in refusal.message and "2 credits left" in refusal.message
    assert "resets at 00:00 UTC" in refusal.message
    assert budget.spent(ANA) == 8  # the refused reservation added nothing


def test_people_and_days_have_separate_budgets(new_ledger: LedgerFactory) -> None:
    """One person's spend never uses another's budget, and yesterday's spend does not count today."""
    budget = new_ledger(4)
    yesterday = utc_today() - timedelta(days=1)
    assert isinstance(budget.reserve(ANA, 4, yesterday), Reservation)
    assert isinstance(budget.reserve(ANA, 4), Reservation)
    assert isinstance(budget.reserve(BOB, 4), Reservation)
    assert budget.spent(ANA, yesterday) == 4 and budget.spent(ANA) == 4 and budget.spent(BOB) == 4


def test_a_cost_bigger_than_the_whole_budget_is_refused(new_ledger: LedgerFactory) -> None:
    """A first call dearer than the daily budget is refused too (the insert path checks the limit)."""
    refusal = new_ledger(3).reserve(ANA, 4)
    assert isinstance(refusal, BudgetRefusal) and refusal.left == 3


def test_no_limit_still_counts_spend(new_ledger: LedgerFactory) -> None:
    """A budget of 0 means no limit, but spend is still recorded for the Usage page."""
    budget = new_ledger(0)
    for _ in range(50):
        assert isinstance(budget.reserve(ANA, 4, label="ana@example.com"), Reservation)
    assert budget.spent(ANA) == 200
    assert budget.daily_spend(utc_today())[0].label == "ana@example.com"


def test_settle_replaces_the_reserved_amount_once(new_ledger: LedgerFactory) -> None:
    """Settling at the actual cost frees the difference; settling or releasing again changes nothing."""
    budget = new_ledger(10)
    reservation = budget.reserve(ANA, 4)
    assert isinstance(reservation, Reservation)
    budget.settle(reservation, 1)
    assert budget.spent(ANA) == 1
    budget.settle(reservation, 4)
    budget.release(reservation)
    assert budget.spent(ANA) == 1


def test_release_gives_the_reservation_back(new_ledger: LedgerFactory) -> None:
    """A released reservation frees its credits for the next call."""
    budget = new_ledger(4)
    reservation = budget.reserve(ANA, 4)
    assert isinstance(reservation, Reservation)
    assert isinstance(budget.reserve(ANA, 1), BudgetRefusal)
    budget.release(reservation)
    assert budget.spent(ANA) == 0
    assert isinstance(budget.reserve(ANA, 4), Reservation)


def test_fifty_threads_racing_never_overspend(new_ledger: LedgerFactory) -> None:
    """50 threads reserving 4 credits each against a budget of 40: exactly 10 succeed."""
    budget = new_ledger(40)
    start = threading.Barrier(50)
    results: list[Reservation | BudgetRefusal] = []
    lock = threading.Lock()

    def spend() -> None:
        start.wait()
        outcome = budget.reserve(ANA, 4)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=spend) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(result, Reservation) for result in results) == 10
    assert budget.spent(ANA) == 40


def _spend_in_process(folder: str, attempts: int, start: threading.Barrier, granted: object) -> None:
    budget = CreditBudget(folder, daily_limit=40)
    start.wait()
    wins = sum(isinstance(budget.reserve(ANA, 1), Reservation) for _ in range(attempts))
    granted.put(wins)  # type: ignore[attr-defined]


def test_two_processes_racing_never_overspend(tmp_path: Path) -> None:
    """Two processes each trying 30 one-credit reservations against 40 get exactly 40 between them."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    granted = context.Queue()
    CreditBudget(tmp_path, daily_limit=40)  # create the schema once, as the app does on start
    workers = [context.Process(target=_spend_in_process, args=(str(tmp_path), 30, start, granted))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    wins = [granted.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert sum(wins) == 40
    assert CreditBudget(tmp_path, daily_limit=40).spent(ANA) == 40


def test_spent_nothing_tells_refusals_from_maybe_charged_failures() -> None:
    """Refusals (4xx, 5xx, our own checks) give credits back; timeouts may have been charged."""
    assert spent_nothing(InvalidRequestError("bad", status_code=400))
    assert spent_nothing(InsufficientCreditsError("none left", status_code=402))
    assert spent_nothing(ServerError("down", status_code=503))
    assert spent_nothing(ValueError("unusable upload"))
    assert not spent_nothing(APITimeoutError("slow"))


def test_charged_settles_releases_and_refuses(new_ledger: LedgerFactory) -> None:
    """The call wrapper settles at the reported cost, releases after a refusal, and raises when full."""
    budget = new_ledger(5)
    ana = PersonalBudget(budget, ANA, "ana@example.com")
    with charged(ana, 4) as charge:
        charge.actual = 1
    assert ana.spent_today() == 1
    with pytest.raises(InvalidRequestError), charged(ana, 4):
        raise InvalidRequestError("refused", status_code=400)
    assert ana.spent_today() == 1
    with pytest.raises(APITimeoutError), charged(ana, 4):
        raise APITimeoutError("slow")
    assert ana.spent_today() == 5
    ran = False
    with pytest.raises(BudgetExceededError, match="budget"), charged(ana, 1):
        ran = True
    assert not ran
    with charged(None, 1000):
        ran = True  # no budget (sign-in off, or a person using their own key): not limited
    assert ran and budget.spent(ANA) == 5


def test_require_room_checks_without_reserving(new_ledger: LedgerFactory) -> None:
    """require_room refuses what would not fit and reserves nothing either way."""
    ana = PersonalBudget(new_ledger(4), ANA)
    require_room(ana, 4)
    require_room(None, 1000)
    with pytest.raises(BudgetExceededError, match="4 credits left"):
        require_room(ana, 5)
    assert ana.spent_today() == 0


def test_daily_spend_lists_days_since(new_ledger: LedgerFactory) -> None:
    """daily_spend returns rows from the given day on, oldest first."""
    budget = new_ledger(0)
    today = utc_today()
    for offset in (40, 3, 0):
        budget.reserve(ANA, offset + 1, today - timedelta(days=offset), label="ana@example.com")
    rows = budget.daily_spend(today - timedelta(days=29))
    assert [(row.day, row.credits) for row in rows] == [(today - timedelta(days=3), 4), (today, 1)]
    assert all(isinstance(row.day, date) for row in rows)


def _workspace(tmp_path: Path, endpoint: str, budget: PersonalBudget | None) -> Workspace:
    client = ImageStudioClient(api_key="sk_test_team_key", endpoint=endpoint, timeout=10)
    return Workspace(client, HistoryStore(tmp_path / "history"), ANA, budget=budget)


def test_workspace_refuses_before_sending_when_the_budget_is_spent(tmp_path: Path, fault_server) -> None:
    """A generate that would pass the budget raises a budget error and sends nothing to the API."""
    fault_server.reset()
    ana = PersonalBudget(CreditBudget(tmp_path, daily_limit=5), ANA)
    workspace = _workspace(tmp_path, fault_server.endpoint("ok"), ana)
    outcome = workspace.generate("a red kite", model="flux-2-pro", aspect_ratio="1:1")
    assert outcome.credits_used == 4 and ana.spent_today() == 4
    with pytest.raises(BudgetExceededError, match="1 credit left"):
        workspace.generate("a red kite", model="flux-2-pro", aspect_ratio="1:1")
    with pytest.raises(BudgetExceededError):
        workspace.compare_models("a red kite", aspect_ratio="1:1")
    assert len(fault_server.posts()) == 1


def test_workspace_gives_credits_back_when_the_api_refuses(tmp_path: Path, fault_server) -> None:
    """A 400 or 402 spent nothing: the reservation is released, so the full budget is still there."""
    ana = PersonalBudget(CreditBudget(tmp_path, daily_limit=4), ANA)
    for fault in ("400", "402"):
        with pytest.raises(ImageStudioError):
            _workspace(tmp_path, fault_server.endpoint(fault), ana).generate(
                "a red kite", model="flux-2-pro", aspect_ratio="1:1")
    assert ana.spent_today() == 0
    _workspace(tmp_path, fault_server.endpoint("ok"), ana).generate("a red kite", model="flux-2-pro",
                                                                     aspect_ratio="1:1")
    assert ana.spent_today() == 4
    # Without a budget (sign-in off, or the person's own key) calls go through and are not counted.
    _workspace(tmp_path, fault_server.endpoint("ok"), None).generate("a red kite", model="flux-2-pro",
                                                                      aspect_ratio="1:1")
    assert ana.spent_today() == 4
