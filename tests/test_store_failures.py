"""The history store when the disk or the database fails: plain messages, the result kept, nothing partial."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lib.history_entry import new_workspace_id
from lib.history_store_base import HistorySaveError
from lib.png_metadata import read_settings
from lib.store import HistoryStore


def _noisy_png(side: int = 256) -> bytes:
    """A PNG that does not compress (about 200 KB at 256 x 256)."""
    pixels = np.random.default_rng(7).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def _all_files(root: Path) -> list[Path]:
    """Every file under the images folder."""
    return sorted(path for path in (root / "images").rglob("*") if path.is_file())


def _assert_plain(error: HistorySaveError) -> None:
    """A message fit for a person: no traceback, no exception names, no paths."""
    assert "Traceback" not in error.message and "Error" not in error.message and "/" not in error.message


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 192 KB filesystem (tmpfs): room for the database and its index, not for a 200 KB image."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(mount_point)],
                            capture_output=True, check=False)
    if result.returncode != 0:
        pytest.skip("mounting a tiny tmpfs needs root (CAP_SYS_ADMIN)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_keeps_the_result_for_download(tiny_disk: Path) -> None:
    """On a full disk the save fails in plain words, carrying the image and its settings; no file remains."""
    workspace = new_workspace_id()
    image = _noisy_png()
    with HistoryStore(tiny_disk / "data") as store:
        with pytest.raises(HistorySaveError) as caught:
            store.add(workspace, "generation", prompt="a storm at sea", image_png=image, model="flux-2-pro",
                      aspect_ratio="1:1", credits_used=4)
        error = caught.value
        assert "disk" in error.message and "full" in error.message
        _assert_plain(error)
        assert Image.open(io.BytesIO(error.image_png)).size == (256, 256)
        assert read_settings(error.image_png)["prompt"] == "a storm at sea"
        assert error.entry is not None and error.entry.kind == "generation"
        assert error.settings["credits_used"] == 4
        assert store.count(workspace) == 0
        assert _all_files(store.root) == []  # no half-written image, no temp file
        small = io.BytesIO()
        Image.new("RGB", (64, 64)).save(small, "PNG")
        assert store.add(workspace, "generation", prompt="fits", image_png=small.getvalue()).has_image


def test_a_locked_database_fails_the_save_cleanly(tmp_path: Path) -> None:
    """While another program holds the database, a save gives up with a plain message and leaves no file."""
    workspace = new_workspace_id()
    with HistoryStore(tmp_path / "data", busy_timeout=0.2) as store:
        holder = sqlite3.connect(store.root / "history.sqlite3", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(HistorySaveError) as caught:
                store.add(workspace, "edit", prompt="warmer", image_png=_noisy_png(64),
                          input_images=[_noisy_png(80)])
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert "busy" in caught.value.message
        _assert_plain(caught.value)
        assert caught.value.image_png is not None
        assert _all_files(store.root) == []  # neither the image nor its input stayed behind
        assert store.add(workspace, "edit", prompt="again", image_png=_noisy_png(64)).has_image


def test_a_damaged_database_fails_the_save_cleanly(tmp_path: Path) -> None:
    """A corrupt entries table gives a plain "damaged" message; the result still travels with the error."""
    workspace = new_workspace_id()
    root = tmp_path / "data"
    with HistoryStore(root) as store:
        kept = store.add(workspace, "enhancement", prompt="a dog", text="a golden dog")
    with sqlite3.connect(root / "history.sqlite3") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'entries'").fetchone()[0]
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with open(root / "history.sqlite3", "r+b") as handle:
        handle.seek((page - 1) * page_size)
        handle.write(b"\xff" * page_size)
    with HistoryStore(root) as store, pytest.raises(HistorySaveError) as caught:
        store.add(workspace, "enhancement", prompt="a cat", text="a tabby cat")
    assert "damaged" in caught.value.message and "enhanced" in caught.value.message
    _assert_plain(caught.value)
    assert caught.value.entry is not None and caught.value.entry.text == "a tabby cat"
    assert caught.value.entry.id != kept.id


def test_leftovers_of_a_crash_are_swept_at_start(tmp_path: Path) -> None:
    """Old temp files and image or input files no row lists go at start; fresh ones and real entries stay."""
    workspace = new_workspace_id()
    root = tmp_path / "data"
    with HistoryStore(root) as store:
        real = store.add(workspace, "edit", prompt="real", image_png=_noisy_png(64),
                         input_images=[_noisy_png(70)])
    folder = root / "images" / workspace
    hour_ago = time.time() - 3600
    old = [folder / f".{'b' * 24}.png.0a1b2c3d.tmp", folder / f"{'c' * 24}.png",
           folder / "inputs" / f"{'d' * 64}.png"]
    fresh = folder / f"{'e' * 24}.png"
    not_ours = folder / "notes.txt"
    for path in (*old, fresh, not_ours):
        path.write_bytes(b"left over")
    for path in (*old, not_ours):
        os.utime(path, (hour_ago, hour_ago))
    with HistoryStore(root) as store:
        assert not any(path.exists() for path in old)
        assert fresh.exists() and not_ours.exists()  # a save may still be writing it; not ours to judge
        assert store.image_png(workspace, real.id) is not None
        assert len(store.input_images(workspace, real.id)) == 1
