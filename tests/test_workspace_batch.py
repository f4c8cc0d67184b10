"""Several images per click: the calls run at once over real HTTP, each paid and kept on its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lib.budget import BudgetExceededError, CreditBudget, PersonalBudget
from lib.client import ImageStudioClient
from lib.contract import MODELS, credits_for, images_per_click
from lib.errors import ImageStudioError, ServerError
from lib.history_entry import new_workspace_id
from lib.store import HistoryStore
from lib.workspace import Outcome, Workspace, slot_models
from tests.fault_server import FaultServer

# Each answer takes this long on the server: four calls one after the other would take four times as long.
ANSWER_SECONDS = 1.0
PRO = "flux-2-pro"


@pytest.fixture
def slow_server() -> Iterator[FaultServer]:
    """A fault server whose slow answers take ANSWER_SECONDS."""
    with FaultServer(slow_seconds=ANSWER_SECONDS) as server:
        yield server


def workspace_on(server: FaultServer, fault: str, data: Path, budget: PersonalBudget | None = None):
    """A workspace whose client talks to one fault of the server, with its own history folder."""
    client = ImageStudioClient("sk_test_batch", server.endpoint(fault))
    store = HistoryStore(data)
    return Workspace(client, store, new_workspace_id(), budget=budget)


def test_four_images_are_requested_at_the_same_time(slow_server: FaultServer, tmp_path: Path) -> None:
    """Four calls of one click reach the server before the first is answered, each with its own key."""
    workspace = workspace_on(slow_server, "slow", tmp_path / "data")
    done = dict(workspace.generate_many("four kites", models=[PRO] * 4, aspect_ratio="1:1"))

    assert sorted(done) == [0, 1, 2, 3]
    assert all(isinstance(outcome, Outcome) for outcome in done.values())
    posts = slow_server.posts()
    arrivals = sorted(post.arrived_at for post in posts)
    # One after the other, the last would arrive 3 x ANSWER_SECONDS after the first.
    assert len(posts) == 4 and arrivals[-1] - arrivals[0] < ANSWER_SECONDS / 2, arrivals
    assert len({post.headers["Idempotency-Key"] for post in posts}) == 4
    assert len(workspace.store.list(workspace.workspace_id, limit=10)) == 4


def test_compare_sends_both_models_at_the_same_time(slow_server: FaultServer, tmp_path: Path) -> None:
    """Compare models asks both models at once and still answers in MODELS order."""
    workspace = workspace_on(slow_server, "slow", tmp_path / "data")
    results = workspace.compare_models("a lighthouse", aspect_ratio=None)

    assert list(results) == list(MODELS)
    assert all(isinstance(outcome, Outcome) for outcome in results.values())
    first, second = sorted(post.arrived_at for post in slow_server.posts())
    assert second - first < ANSWER_SECONDS / 2
    assert sorted(post.json()["model"] for post in slow_server.posts()) == sorted(MODELS)


def test_one_failure_of_four_keeps_the_other_three(tmp_path: Path) -> None:
    """The fourth call failing gives its slot the error; the other three are results kept in History."""
    with FaultServer(slow_seconds=0.2) as server:
        workspace = workspace_on(server, "slow-every-fourth-fails", tmp_path / "data")
        done = dict(workspace.generate_many("four kites", models=[PRO] * 4, aspect_ratio="1:1"))

    failures = [result for result in done.values() if isinstance(result, ImageStudioError)]
    assert len(done) == 4 and len(failures) == 1
    assert isinstance(failures[0], ServerError) and failures[0].status_code == 500
    kept = workspace.store.list(workspace.workspace_id, limit=10)
    assert sorted(entry.id for entry in kept) == sorted(
        result.entry.id for result in done.values() if isinstance(result, Outcome))


def test_budget_is_checked_for_the_whole_click_then_reserved_per_call(
    slow_server: FaultServer, tmp_path: Path
) -> None:
    """A click that would pass the budget sends nothing; one that fits is charged per call, in full."""
    ledger = CreditBudget(tmp_path / "budget", daily_limit=16)
    budget = PersonalBudget(ledger, "person")
    workspace = workspace_on(slow_server, "slow", tmp_path / "data", budget)
    ledger.reserve("person", 1)  # 15 left: four flux-2-pro images (16) do not fit
    with pytest.raises(BudgetExceededError):
        workspace.generate_many("four kites", models=[PRO] * 4, aspect_ratio=None)
    assert slow_server.posts() == []

    done = dict(workspace.generate_many("three kites", models=[PRO] * 3, aspect_ratio=None))
    assert all(isinstance(outcome, Outcome) for outcome in done.values())
    assert budget.spent_today() == 1 + 3 * 4  # the server reported 4 credits for each


def test_cost_and_slots_of_a_click() -> None:
    """The cost before the click is the total; comparing and cut-outs make one image per model."""
    assert credits_for(PRO, count=4) == 16 and credits_for("flux-2-klein-9b", count=3) == 3
    assert credits_for(PRO, compare=True, count=4) == sum(credits_for(model) for model in MODELS)
    assert credits_for(PRO, background_removal=True, count=4) == 2
    assert [images_per_click(count) for count in (0, 1, 4, 9)] == [1, 1, 4, 4]
    assert slot_models(PRO, 4, compare=False, background_removal=False) == [PRO] * 4
    assert slot_models(PRO, 4, compare=True, background_removal=False) == list(MODELS)
    assert slot_models(PRO, 4, compare=True, background_removal=True) == [PRO]
