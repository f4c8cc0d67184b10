"""Workspace links: only ids this deployment minted are adopted; the secret is configured or kept safely."""

from __future__ import annotations

import io
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from lib.config import DATA_DIR_NAME, WORKSPACE_SECRET_NAME
from lib.history_entry import is_valid_workspace_id, new_workspace_id
from lib.store import HistoryStore
from lib.team import person_key
from lib.workspace_links import (
    SECRET_FILE,
    OpenedLink,
    is_genuine_workspace_id,
    mint_workspace_id,
    open_workspace_link,
    stored_secret,
    workspace_secret,
)

SECRET = b"0123456789abcdef0123456789abcdef"


def test_minted_ids_are_genuine_and_fit_the_store() -> None:
    """Minted ids are distinct, pass the store's id check and are accepted under their own secret only."""
    ids = {mint_workspace_id(SECRET) for _ in range(100)}
    assert len(ids) == 100
    assert all(is_valid_workspace_id(value) and is_genuine_workspace_id(value, SECRET) for value in ids)
    assert not any(is_genuine_workspace_id(value, b"another deployment's secret!!") for value in ids)


def test_a_tampered_tag_is_refused() -> None:
    """Changing one character of a genuine id makes it a stranger's id."""
    genuine = mint_workspace_id(SECRET)
    assert is_genuine_workspace_id(genuine, SECRET)
    flipped = genuine[:-1] + ("A" if genuine[-1] != "A" else "B")
    assert not is_genuine_workspace_id(flipped, SECRET)
    assert not is_genuine_workspace_id(genuine[:-1], SECRET)


def test_configured_secret_wins_and_is_shared_by_replicas(tmp_path: Path) -> None:
    """With a configured secret two replicas (different data folders) accept each other's ids."""
    shared = "shared-" + "s" * 20
    one = workspace_secret({WORKSPACE_SECRET_NAME: shared, DATA_DIR_NAME: str(tmp_path / "a")}, {})
    two = workspace_secret({}, {WORKSPACE_SECRET_NAME: shared, DATA_DIR_NAME: str(tmp_path / "b")})
    assert is_genuine_workspace_id(mint_workspace_id(one), two)
    assert not (tmp_path / "a").exists()  # nothing written when the secret is configured
    with pytest.raises(ValueError, match=WORKSPACE_SECRET_NAME):
        workspace_secret({WORKSPACE_SECRET_NAME: "short"}, {})


def test_without_configuration_one_secret_is_kept_owner_only(tmp_path: Path) -> None:
    """The embedded default generates one secret per data folder (mode 0600) and keeps it across restarts."""
    first = workspace_secret({}, {DATA_DIR_NAME: str(tmp_path)})
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600
    assert workspace_secret({}, {DATA_DIR_NAME: str(tmp_path)}) == first
    assert is_genuine_workspace_id(mint_workspace_id(first), stored_secret(tmp_path))
    assert list(tmp_path.iterdir()) == [tmp_path / SECRET_FILE]  # no temp file left behind


def test_shared_mode_needs_a_configured_secret_and_writes_no_file(tmp_path: Path) -> None:
    """With history shared by replicas no secret is kept in the data folder: a configured one is required."""
    shared = {"IMAGE_STUDIO_DATABASE_URL": "postgresql://db.test/studio", DATA_DIR_NAME: str(tmp_path)}
    with pytest.raises(ValueError, match=WORKSPACE_SECRET_NAME):
        workspace_secret({}, shared)
    assert list(tmp_path.iterdir()) == []
    assert workspace_secret({WORKSPACE_SECRET_NAME: "s" * 32}, shared) == b"s" * 32


def test_concurrent_first_starts_agree_on_one_secret(tmp_path: Path) -> None:
    """Several processes starting at once on an empty data folder end up with the same secret."""
    results: list[bytes] = []
    start = threading.Barrier(8)

    def read() -> None:
        start.wait()
        results.append(stored_secret(tmp_path))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and len(set(results)) == 1


def test_a_damaged_secret_file_is_an_error_not_a_weak_secret(tmp_path: Path) -> None:
    """An emptied secret file is refused with a message that says what to do."""
    (tmp_path / SECRET_FILE).write_text("")
    with pytest.raises(ValueError, match="delete the file"):
        stored_secret(tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    """A real history store in a temporary folder."""
    with HistoryStore(tmp_path / "data") as history:
        yield history


def _png() -> bytes:
    """A small PNG."""
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (20, 120, 220)).save(out, "PNG")
    return out.getvalue()


def _made_before_signing(store: HistoryStore) -> str:
    """An old-style (unsigned) workspace id with an edit and an enhancement in its history."""
    legacy = new_workspace_id()
    store.add(legacy, "edit", prompt="a boat at sea", image_png=_png(), input_images=[_png()])
    store.add(legacy, "enhancement", prompt="a boat", text="a boat on a calm sea", credits_used=0)
    return legacy


def test_a_genuine_link_opens_its_own_workspace(store: HistoryStore) -> None:
    """A link this deployment minted opens as it is, with nothing to tell."""
    genuine = mint_workspace_id(SECRET)
    assert open_workspace_link(genuine, SECRET, store) == OpenedLink(genuine)


def test_an_old_link_with_history_moves_it_to_a_new_signed_id_once(store: HistoryStore) -> None:
    """An old-style link's history moves whole to a fresh signed id, said once; the old link is then empty."""
    legacy = _made_before_signing(store)
    entries = store.list(legacy)

    opened = open_workspace_link(legacy, SECRET, store)
    assert is_genuine_workspace_id(opened.workspace_id, SECRET)
    assert [entry.prompt for entry in store.list(opened.workspace_id)] == [entry.prompt for entry in entries]
    edit = next(entry for entry in store.list(opened.workspace_id) if entry.kind == "edit")
    assert store.image_png(opened.workspace_id, edit.id) is not None
    assert store.input_images(opened.workspace_id, edit.id) == [_png()]
    assert opened.notice is not None and "2 items" in opened.notice and "Bookmark" in opened.notice
    assert legacy not in opened.notice and opened.workspace_id not in opened.notice
    assert store.count(legacy) == 0

    again = open_workspace_link(legacy, SECRET, store)
    assert again.notice is None and again.workspace_id not in (legacy, opened.workspace_id)
    assert store.count(again.workspace_id) == 0
    assert store.count(opened.workspace_id) == 2  # the second opening took nothing from the first


@pytest.mark.parametrize("link", [
    "attacker-chosen-workspace-name", "x" * 46, "", None, 42, new_workspace_id(), "../../etc/passwd",
])
def test_planted_unknown_or_malformed_links_open_a_fresh_workspace(store: HistoryStore, link: object) -> None:
    """A link this deployment did not mint and that has no history opens a fresh empty workspace, silently."""
    assert not is_genuine_workspace_id(link, SECRET)
    opened = open_workspace_link(link, SECRET, store)
    assert opened.notice is None and opened.workspace_id != link
    assert is_genuine_workspace_id(opened.workspace_id, SECRET) and store.count(opened.workspace_id) == 0


def test_a_persons_history_can_never_be_claimed_through_a_link(store: HistoryStore) -> None:
    """A signed-in person's history key in ?ws= is not an old link: their history stays theirs."""
    person = person_key("https://accounts.example.com", "12345")
    store.add(person, "enhancement", prompt="mine", text="mine, in golden light")
    opened = open_workspace_link(person, SECRET, store)
    assert opened.notice is None and store.count(opened.workspace_id) == 0
    assert store.count(person) == 1


def test_two_tabs_opening_one_old_link_at_once_share_nothing(store: HistoryStore) -> None:
    """Two openings of the same old link at the same moment: exactly one gets the history, whole."""
    legacy = _made_before_signing(store)
    opened: list[OpenedLink] = []
    start = threading.Barrier(2)

    def open_link() -> None:
        start.wait()
        opened.append(open_workspace_link(legacy, SECRET, store))

    threads = [threading.Thread(target=open_link) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = sorted(store.count(link.workspace_id) for link in opened)
    assert counts == [0, 2] and store.count(legacy) == 0
    assert sorted(link.notice is not None for link in opened) == [False, True]


def test_a_link_signed_under_another_secret_is_not_taken_for_an_old_one(store: HistoryStore) -> None:
    """A replica with a rotated or mismatched secret never moves another secret's history away."""
    other_secret = b"fedcba9876543210fedcba9876543210"
    signed_elsewhere = mint_workspace_id(other_secret)
    store.add(signed_elsewhere, "generation", prompt="a lighthouse", image_png=_png())
    opened = open_workspace_link(signed_elsewhere, SECRET, store)
    assert opened.workspace_id != signed_elsewhere
    assert opened.notice is None  # a fresh workspace, nothing claimed
    assert store.count(signed_elsewhere) == 1
    assert store.count(opened.workspace_id) == 0
