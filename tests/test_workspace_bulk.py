"""Remove background in bulk: several photos cut out at once over real HTTP, each kept by its file's name."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from bench.cutout_server import API_KEY, NO_SUBJECT, CutoutServer
from lib.budget import BudgetExceededError, CreditBudget, PersonalBudget
from lib.client import ImageStudioClient
from lib.errors import InvalidRequestError
from lib.history_entry import new_workspace_id
from lib.store import HistoryStore
from lib.workspace import BULK_WORKERS, MAX_BULK_PHOTOS, InputImage, Outcome, Workspace, cutouts_zip
from tests.app_testing import png_bytes

DELAY_S = 0.6


@pytest.fixture
def server() -> Iterator[CutoutServer]:
    with CutoutServer(delay_s=DELAY_S) as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "history") as opened:
        yield opened


def workspace_on(
    server: CutoutServer, store: HistoryStore, budget: PersonalBudget | None = None
) -> Workspace:
    """A workspace whose client talks to the slow cut-out server."""
    return Workspace(ImageStudioClient(API_KEY, server.endpoint), store, new_workspace_id(), budget=budget)


def two_tone(name: str, width: int = 120) -> InputImage:
    """A photo with something in it: a dark square on a light ground."""
    picture = Image.new("RGB", (width, 90), "#dddddd")
    ImageDraw.Draw(picture).rectangle((30, 20, 70, 60), fill="#224488")
    out = io.BytesIO()
    picture.save(out, "PNG")
    return InputImage(name, out.getvalue())


def test_calls_overlap_and_each_is_kept_by_name(server: CutoutServer, store: HistoryStore) -> None:
    """Four photos are sent at the same time (four in flight) and each lands in History by its file name."""
    workspace = workspace_on(server, store)
    started = time.monotonic()
    results = dict(workspace.remove_backgrounds([two_tone(f"shot {n}.jpg") for n in range(4)]))
    elapsed = time.monotonic() - started

    assert server.most_in_flight == 4
    assert elapsed < 4 * DELAY_S  # one after another would take four delays
    assert sorted(results) == [0, 1, 2, 3]
    assert all(isinstance(outcome, Outcome) for outcome in results.values())
    names = {store.get(workspace.workspace_id, outcome.entry.id).source_name  # type: ignore[union-attr]
             for outcome in results.values()}
    assert names == {"shot 0.jpg", "shot 1.jpg", "shot 2.jpg", "shot 3.jpg"}
    assert store.count(workspace.workspace_id, kind="cutout") == 4


def test_at_most_five_at_once(server: CutoutServer, store: HistoryStore) -> None:
    """Seven photos never have more than five requests in flight, and all seven finish."""
    results = list(workspace_on(server, store).remove_backgrounds([two_tone(f"{n}.png") for n in range(7)]))
    assert server.most_in_flight == BULK_WORKERS == 5
    assert len(results) == 7 and server.requests == 7


def test_one_failing_photo_keeps_the_others(server: CutoutServer, store: HistoryStore) -> None:
    """A photo the server refuses comes back as its error at its own index; the rest are saved."""
    flat = InputImage("blank.png", png_bytes((100, 100), colour="#ffffff"))
    workspace = workspace_on(server, store)
    results = dict(workspace.remove_backgrounds([two_tone("a.jpg"), flat, two_tone("c.jpg")]))

    assert isinstance(results[1], InvalidRequestError)
    assert NO_SUBJECT in results[1].message
    assert isinstance(results[0], Outcome) and isinstance(results[2], Outcome)
    assert store.count(workspace.workspace_id) == 2


def test_too_many_photos_are_refused_before_sending(server: CutoutServer, store: HistoryStore) -> None:
    """More than the limit is refused in plain words naming the count; nothing reaches the server."""
    many = [two_tone(f"{n}.jpg") for n in range(MAX_BULK_PHOTOS + 3)]
    with pytest.raises(InvalidRequestError, match=f"You chose {MAX_BULK_PHOTOS + 3} photos; at most 20"):
        workspace_on(server, store).remove_backgrounds(many)
    assert server.requests == 0


def test_budget_must_hold_all_of_them(server: CutoutServer, store: HistoryStore, tmp_path: Path) -> None:
    """With room for two cut-outs of three, nothing is sent and the refusal names the total."""
    budget = PersonalBudget(CreditBudget(tmp_path / "budget", daily_limit=5), person="someone")
    workspace = workspace_on(server, store, budget)
    with pytest.raises(BudgetExceededError, match="it costs 6 credits"):
        workspace.remove_backgrounds([two_tone(f"{n}.jpg") for n in range(3)])
    assert server.requests == 0
    assert budget.spent_today() == 0


def test_zip_names_each_cutout_after_its_file(server: CutoutServer, store: HistoryStore) -> None:
    """Download all gives one PNG per photo, <name>-cutout.png, with same-named uploads kept apart."""
    workspace = workspace_on(server, store)
    uploads = [two_tone("Café au lait.JPG"), two_tone("dog.png"), two_tone("dog.png")]
    results = dict(workspace.remove_backgrounds(uploads))
    entry_ids = [results[index].entry.id for index in range(3)]  # type: ignore[union-attr]
    extra = [("unsaved-cutout.png", png_bytes((70, 70)))]

    data = cutouts_zip(store, workspace.workspace_id, entry_ids, extra)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        first = archive.read(names[0])
    assert names == ["cafe-au-lait-cutout.png", "dog-cutout.png", "dog-cutout-2.png", "unsaved-cutout.png"]
    assert first == store.image_png(workspace.workspace_id, entry_ids[0])
