"""Workspace links: only ids this deployment minted are adopted; the secret is configured or kept safely."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from lib.config import DATA_DIR_NAME, WORKSPACE_SECRET_NAME
from lib.store import is_valid_workspace_id, new_workspace_id
from lib.workspace_links import (
    SECRET_FILE,
    is_genuine_workspace_id,
    mint_workspace_id,
    stored_secret,
    workspace_id_from_link,
    workspace_secret,
)

SECRET = b"0123456789abcdef0123456789abcdef"


def test_minted_ids_are_genuine_and_fit_the_store() -> None:
    """Minted ids are distinct, pass the store's id check and are accepted under their own secret only."""
    ids = {mint_workspace_id(SECRET) for _ in range(100)}
    assert len(ids) == 100
    assert all(is_valid_workspace_id(value) and is_genuine_workspace_id(value, SECRET) for value in ids)
    assert not any(is_genuine_workspace_id(value, b"another deployment's secret!!") for value in ids)


@pytest.mark.parametrize("planted", [
    "attacker-chosen-workspace-name", "x" * 46, "", None, 42, new_workspace_id(), "../../etc/passwd",
])
def test_planted_or_old_style_links_open_a_fresh_workspace(planted: object) -> None:
    """A link this deployment did not mint (any string, an old-style random id) is replaced by a fresh id."""
    assert not is_genuine_workspace_id(planted, SECRET)
    fresh = workspace_id_from_link(planted, SECRET)
    assert fresh != planted and is_genuine_workspace_id(fresh, SECRET)


def test_a_tampered_tag_is_refused() -> None:
    """Changing one character of a genuine id makes it a stranger's id."""
    genuine = mint_workspace_id(SECRET)
    assert workspace_id_from_link(genuine, SECRET) == genuine
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
