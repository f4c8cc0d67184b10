"""The history store: persistence, isolation between workspaces, paging, export and concurrent writers.

Every test that takes the `store` (or `open_store`) fixture runs twice: on the embedded store (SQLite and
files) and on the shared one (PostgreSQL and object storage, here a local folder). Tests that look at
SQLite itself say so with SQLITE_ONLY.
"""

from __future__ import annotations

import io
import json
import sqlite3
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from lib.history_entry import KINDS, is_valid_workspace_id, new_workspace_id, slug
from lib.object_storage import LocalFolderStorage
from lib.png_metadata import read_settings
from lib.shared_store import PostgresHistoryStore
from lib.store import HistoryStore

SAMPLES = Path(__file__).resolve().parents[1] / "assets" / "samples"
SETTINGS_KEYS = {"app", "version", "kind", "prompt", "model", "aspect_ratio", "created_at", "credits_used",
                 "width", "height", "enhanced_prompt"}


def _png(size: tuple[int, int] = (64, 64), colour: tuple[int, ...] = (200, 30, 30),
         mode: str = "RGB") -> bytes:
    """A small solid PNG."""
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, "PNG")
    return out.getvalue()


def _files(root: Path) -> list[Path]:
    """Every image file under the store's folder, temporary ones included."""
    return sorted(path for path in (root / "images").rglob("*") if path.is_file())


# Tests that inspect SQLite's own files run on the embedded store only.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which store the test runs on: the embedded one (SQLite) or the shared one (PostgreSQL)."""
    return str(request.param)


@pytest.fixture
def open_store(backend: str, tmp_path: Path,
               request: pytest.FixtureRequest) -> Iterator[Callable[..., HistoryStore]]:
    """Opens stores on one place (a folder, or a database and its objects); each is closed at the end."""
    opened: list[HistoryStore] = []
    url = str(request.getfixturevalue("postgres_url")) if backend == "postgres" else None

    def open_one(**options: object) -> HistoryStore:
        if url is None:
            history = HistoryStore(tmp_path / "data", **options)  # type: ignore[arg-type]
        else:  # the same API: typed as HistoryStore so every test reads the same on both
            history = PostgresHistoryStore(url, LocalFolderStorage(tmp_path / "data"),  # type: ignore[assignment]
                                           **options)  # type: ignore[arg-type]
        opened.append(history)
        return history

    yield open_one
    for history in opened:
        history.close()


@pytest.fixture
def store(open_store: Callable[..., HistoryStore]) -> HistoryStore:
    """A fresh store: a temporary folder, or a new database with its objects in a temporary folder."""
    return open_store()


def _root(store: HistoryStore) -> Path:
    """The folder holding the store's images/ (the embedded store's folder, or the object folder)."""
    if isinstance(store, PostgresHistoryStore):
        objects = store.objects
        assert isinstance(objects, LocalFolderStorage)
        return objects.root
    return store.root


@pytest.fixture
def workspace() -> str:
    """A fresh workspace id."""
    return new_workspace_id()


def test_entries_survive_a_restart(open_store: Callable[..., HistoryStore], workspace: str) -> None:
    """A new store on the same folder (a refresh, a server restart) sees the same entries and images."""
    with open_store() as first:
        saved = first.add(workspace, "generation", prompt="a red square", image_png=_png(),
                          model="flux-2-pro", aspect_ratio="1:1", credits_used=4)
        stored_png = first.image_png(workspace, saved.id)
    with open_store() as second:
        assert second.get(workspace, saved.id) == saved
        assert second.list(workspace) == [saved]
        assert second.image_png(workspace, saved.id) == stored_png


@SQLITE_ONLY
def test_database_is_in_wal_mode_and_pages_through_the_index(store: HistoryStore, workspace: str) -> None:
    """Readers never block the writer, and a page or count is answered from the index, not a table scan."""
    store.add(workspace, "enhancement", prompt="x", text="y")
    db = sqlite3.connect(store.root / "history.sqlite3")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        plan = " ".join(str(row) for row in db.execute(
            "EXPLAIN QUERY PLAN SELECT seq FROM entries WHERE workspace_id = ? "
            "ORDER BY created_at DESC, seq DESC LIMIT 24 OFFSET 48", (workspace,)))
        assert "COVERING INDEX entries_by_workspace" in plan
        assert "TEMP B-TREE" not in plan  # the order comes from the index: no sort of the whole history
    finally:
        db.close()


def test_workspaces_are_isolated(store: HistoryStore, workspace: str) -> None:
    """Another workspace can neither list, read, download nor delete an entry."""
    mine = store.add(workspace, "generation", prompt="mine", image_png=_png())
    other = new_workspace_id()
    store.add(other, "enhancement", prompt="theirs", text="theirs, detailed")
    assert store.get(other, mine.id) is None
    assert store.image_png(other, mine.id) is None
    assert store.delete(other, mine.id) is False
    assert [entry.prompt for entry in store.list(other)] == ["theirs"]
    assert store.count(other) == 1
    assert store.get(workspace, mine.id) == mine
    assert store.image_png(workspace, mine.id) is not None


def test_new_workspace_ids_are_unguessable_and_valid() -> None:
    """Fresh ids are long, URL-safe, distinct and pass validation."""
    ids = {new_workspace_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(is_valid_workspace_id(value) and len(value) >= 22 for value in ids)


@pytest.mark.parametrize(
    "bad_id",
    ["", "short", "../../../../etc/passwd", "..", "a/b" * 10, "a\\b" * 10, "x" * 21 + "/", "x" * 200,
     "abc.def.ghi.jkl.mno.pqr.stu", "ünïcödé" * 5, "x" * 21 + "\0", " " + "x" * 25],
)
def test_invalid_workspace_ids_are_refused(store: HistoryStore, bad_id: str) -> None:
    """Crafted ids cannot write anywhere, and read nothing."""
    assert not is_valid_workspace_id(bad_id)
    with pytest.raises(ValueError):
        store.add(bad_id, "generation", prompt="x", image_png=_png())
    assert store.list(bad_id) == []
    assert store.count(bad_id) == 0
    assert _files(_root(store)) == []
    assert not any(_root(store).parent.glob("**/*.png"))


def test_entry_ids_cannot_escape_the_folder(store: HistoryStore, workspace: str) -> None:
    """Entry ids that are not ours are answered with nothing, whatever they contain."""
    store.add(workspace, "generation", prompt="x", image_png=_png())
    for bad in ("../../history.sqlite3", "..", "", "A" * 24, "0" * 23, None):
        assert store.get(workspace, bad) is None  # type: ignore[arg-type]
        assert store.image_png(workspace, bad) is None  # type: ignore[arg-type]
        assert store.delete(workspace, bad) is False  # type: ignore[arg-type]
    assert store.count(workspace) == 1


def test_delete_removes_the_entry_and_its_file(store: HistoryStore, workspace: str) -> None:
    """After delete the entry, its image file and its download are gone; a second delete is False."""
    kept = store.add(workspace, "generation", prompt="kept", image_png=_png())
    gone = store.add(workspace, "cutout", prompt="remove background", image_png=_png(mode="RGBA",
                                                                                     colour=(0, 0, 0, 0)))
    assert len(_files(_root(store))) == 2
    assert store.delete(workspace, gone.id) is True
    assert store.get(workspace, gone.id) is None
    assert store.image_png(workspace, gone.id) is None
    assert [path.stem for path in _files(_root(store))] == [kept.id]
    assert store.delete(workspace, gone.id) is False


def test_list_is_newest_first(store: HistoryStore, workspace: str) -> None:
    """Entries come back newest first, even when saved within the same clock tick."""
    added = [store.add(workspace, "enhancement", prompt=f"p{i}", text=f"t{i}") for i in range(30)]
    assert [entry.id for entry in store.list(workspace, limit=100)] == [entry.id for entry in reversed(added)]


def test_filter_by_kind(store: HistoryStore, workspace: str) -> None:
    """Listing and counting by kind return only that kind; unknown kinds are an error."""
    for kind in ("generation", "generation", "edit", "cutout", "enhancement"):
        if kind == "enhancement":
            store.add(workspace, kind, prompt=kind, text="better")
        else:
            store.add(workspace, kind, prompt=kind, image_png=_png())
    assert [entry.kind for entry in store.list(workspace, kind="generation")] == ["generation", "generation"]
    assert {kind: store.count(workspace, kind=kind) for kind in KINDS} == {
        "generation": 2, "edit": 1, "cutout": 1, "enhancement": 1}
    with pytest.raises(ValueError):
        store.list(workspace, kind="video")


def test_pagination_covers_every_entry_once(store: HistoryStore, workspace: str) -> None:
    """Pages of limit/offset are disjoint, in order, and together hold everything; count matches."""
    added = [store.add(workspace, "enhancement", prompt=f"p{i}", text="t") for i in range(53)]
    pages = [store.list(workspace, limit=24, offset=offset) for offset in (0, 24, 48, 72)]
    assert [len(page) for page in pages] == [24, 24, 5, 0]
    assert [entry.id for page in pages for entry in page] == [entry.id for entry in reversed(added)]
    assert store.count(workspace) == 53
    assert store.list(workspace, limit=0) == []
    with pytest.raises(ValueError):
        store.list(workspace, offset=-1)


def test_image_png_carries_its_settings_with_unicode_intact(store: HistoryStore, workspace: str) -> None:
    """The stored PNG holds prompt, model, ratio, kind and time; emoji and non-Latin text survive."""
    prompt = "富士山の夕焼け 🌄 — закат над горой ✨"
    entry = store.add(workspace, "edit", prompt=prompt, image_png=_png((96, 64)), model="flux-2-klein-9b",
                      aspect_ratio="3:2", credits_used=1)
    png = store.image_png(workspace, entry.id)
    settings = read_settings(png)
    assert set(settings) == SETTINGS_KEYS
    assert (settings["prompt"], settings["model"], settings["aspect_ratio"], settings["kind"]) == (
        prompt, "flux-2-klein-9b", "3:2", "edit")
    assert settings["created_at"].endswith("+00:00")
    assert (settings["width"], settings["height"]) == (96, 64)
    assert Image.open(io.BytesIO(png)).size == (96, 64)
    assert workspace.encode() not in png  # the id opens the whole history: it never leaves in a file


def test_enhancement_has_text_and_no_image(store: HistoryStore, workspace: str) -> None:
    """An enhanced prompt is kept as text; it has no image, thumbnail or file."""
    entry = store.add(workspace, "enhancement", prompt="a dog", text="a golden retriever on a beach")
    assert (entry.has_image, entry.thumbnail, entry.text) == (False, None, "a golden retriever on a beach")
    assert store.image_png(workspace, entry.id) is None
    assert _files(_root(store)) == []


def test_thumbnails_are_small_and_made_once(store: HistoryStore, workspace: str) -> None:
    """A 1 MP result gets a thumbnail of a few KB (JPEG), a cut-out a transparent PNG one."""
    photo = Image.open(SAMPLES / "astronaut.jpg").convert("RGB").resize((1024, 1024))
    out = io.BytesIO()
    photo.save(out, "PNG")
    entry = store.add(workspace, "generation", prompt="astronaut", image_png=out.getvalue())
    assert Image.open(io.BytesIO(entry.thumbnail)).format == "JPEG"
    assert len(entry.thumbnail) < 30_000
    assert max(Image.open(io.BytesIO(entry.thumbnail)).size) == 256

    photo.putalpha(Image.new("L", photo.size, 0).resize(photo.size))
    photo.paste((255, 255, 255, 255), (256, 256, 768, 768))
    out = io.BytesIO()
    photo.save(out, "PNG")
    cutout = store.add(workspace, "cutout", prompt="remove background", image_png=out.getvalue())
    assert Image.open(io.BytesIO(cutout.thumbnail)).format == "PNG"
    assert len(cutout.thumbnail) < 30_000
    assert Image.open(io.BytesIO(cutout.thumbnail)).convert("RGBA").getpixel((0, 0))[3] == 0
    assert store.list(workspace)[0].thumbnail == cutout.thumbnail


def test_other_formats_are_kept_as_png(store: HistoryStore, workspace: str) -> None:
    """A JPEG or WebP result is stored (and downloaded) as a PNG with settings."""
    out = io.BytesIO()
    Image.new("RGB", (80, 80), (10, 120, 200)).save(out, "JPEG")
    entry = store.add(workspace, "generation", prompt="jpeg in", image_png=out.getvalue())
    png = store.image_png(workspace, entry.id)
    assert Image.open(io.BytesIO(png)).format == "PNG"
    assert read_settings(png)["prompt"] == "jpeg in"


def test_bad_input_is_refused_and_leaves_nothing(store: HistoryStore, workspace: str) -> None:
    """Unknown kinds, missing images, images on enhancements and undecodable bytes are ValueErrors."""
    attempts = [
        dict(kind="video", prompt="x", image_png=_png()),
        dict(kind="generation", prompt="x"),
        dict(kind="enhancement", prompt="x", image_png=_png(), text="y"),
        dict(kind="enhancement", prompt="x"),
        dict(kind="generation", prompt="x", image_png=b"this is not an image"),
        dict(kind="generation", prompt="x", image_png=_png()[:-40]),
    ]
    for attempt in attempts:
        with pytest.raises(ValueError):
            store.add(workspace, **attempt)
    assert store.count(workspace) == 0
    assert _files(_root(store)) == []


def test_a_failed_save_leaves_no_file(open_store: Callable[..., HistoryStore], workspace: str) -> None:
    """When the row cannot be written the image file is removed too (no orphans, no temp files)."""
    history = open_store()
    history.close()
    with pytest.raises(RuntimeError):
        history.add(workspace, "generation", prompt="x", image_png=_png())
    assert _files(_root(history)) == []


def test_export_zip_holds_the_images_and_their_settings(store: HistoryStore, workspace: str) -> None:
    """The zip has every image (stored, not deflated) and a history.json of settings, newest first."""
    first = store.add(workspace, "generation", prompt="A lighthouse, at dusk!", image_png=_png(),
                      model="flux-2-pro", aspect_ratio="16:9", credits_used=4)
    store.add(workspace, "enhancement", prompt="a cat", text="a tabby cat in warm light")
    last = store.add(workspace, "cutout", prompt="🐱", image_png=_png(mode="RGBA", colour=(9, 9, 9, 0)),
                     credits_used=2)
    store.add(new_workspace_id(), "generation", prompt="someone else's", image_png=_png())

    data = store.export_zip(workspace)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    names = archive.namelist()
    assert names == ["001-cutout-image.png", "002-generation-a-lighthouse-at-dusk.png", "history.json"]
    assert all(archive.getinfo(name).compress_type == zipfile.ZIP_STORED for name in names[:2])
    assert archive.read(names[0]) == store.image_png(workspace, last.id)
    assert archive.read(names[1]) == store.image_png(workspace, first.id)

    history = json.loads(archive.read("history.json"))
    assert [item["kind"] for item in history] == ["cutout", "enhancement", "generation"]
    assert all(set(item) == SETTINGS_KEYS | {"file", "inputs"} for item in history)
    assert all(item["inputs"] == [] for item in history)
    assert [item["file"] for item in history] == [names[0], None, names[1]]
    assert history[1]["enhanced_prompt"] == "a tabby cat in warm light"
    assert history[2]["prompt"] == "A lighthouse, at dusk!"
    assert workspace.encode() not in data
    assert b"someone else" not in data


def test_write_zip_streams_to_a_file(store: HistoryStore, workspace: str, tmp_path: Path) -> None:
    """The export can go straight to a file on disk, with the same content as export_zip."""
    for i in range(3):
        store.add(workspace, "generation", prompt=f"picture {i}", image_png=_png())
    with open(tmp_path / "export.zip", "wb") as out:
        assert store.write_zip(workspace, out) == 3
    with zipfile.ZipFile(tmp_path / "export.zip") as on_disk:
        in_memory = zipfile.ZipFile(io.BytesIO(store.export_zip(workspace)))
        assert on_disk.namelist() == in_memory.namelist()
        assert on_disk.read("001-generation-picture-2.png") == in_memory.read("001-generation-picture-2.png")


def test_export_of_an_empty_workspace(store: HistoryStore, workspace: str) -> None:
    """An empty history exports a zip with an empty history.json."""
    archive = zipfile.ZipFile(io.BytesIO(store.export_zip(workspace)))
    assert archive.namelist() == ["history.json"]
    assert json.loads(archive.read("history.json")) == []


def test_export_skips_an_image_deleted_on_disk(store: HistoryStore, workspace: str) -> None:
    """An image file removed behind the store's back is left out instead of breaking the export."""
    entry = store.add(workspace, "generation", prompt="x", image_png=_png())
    store.add(workspace, "generation", prompt="y", image_png=_png())
    (_root(store) / "images" / workspace / f"{entry.id}.png").unlink()
    archive = zipfile.ZipFile(io.BytesIO(store.export_zip(workspace)))
    assert archive.namelist() == ["001-generation-y.png", "history.json"]
    assert store.image_png(workspace, entry.id) is None


def test_concurrent_writers_all_land(store: HistoryStore) -> None:
    """8 threads adding 25 entries each (while others read) lose nothing and mix nothing up."""
    workspaces = [new_workspace_id() for _ in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(10)

    def write(thread: int) -> None:
        start.wait()
        try:
            for i in range(25):
                ws = workspaces[thread % 4]
                if i % 5 == 4:
                    store.add(ws, "enhancement", prompt=f"{thread}-{i}", text="t")
                else:
                    store.add(ws, "generation", prompt=f"{thread}-{i}", image_png=_png(colour=(thread, i, 0)))
        except BaseException as exc:  # collected and re-raised by the test thread
            errors.append(exc)

    def read() -> None:
        start.wait()
        try:
            for _ in range(50):
                for ws in workspaces:
                    store.list(ws, limit=24)
                    store.count(ws)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    threads += [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [store.count(ws) for ws in workspaces] == [50, 50, 50, 50]
    prompts = {entry.prompt for ws in workspaces for entry in store.list(ws, limit=100)}
    assert prompts == {f"{t}-{i}" for t in range(8) for i in range(25)}
    assert len(_files(_root(store))) == 160
    assert not [path for path in _files(_root(store)) if path.suffix == ".tmp"]


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    """A small solid JPEG, as a person might upload."""
    out = io.BytesIO()
    Image.new("RGB", (80, 60), colour).save(out, "JPEG")
    return out.getvalue()


def _input_files(store: HistoryStore, workspace: str) -> list[Path]:
    """The input image files kept for a workspace."""
    folder = _root(store) / "images" / workspace / "inputs"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_slug_transliterates_accents() -> None:
    """Accented letters become their plain letters, not dashes; nothing left gives "image"."""
    assert slug("Café crème brûlée") == "cafe-creme-brulee"
    assert slug("🐱🐶") == "image"


def test_input_images_are_kept_once_and_given_back_in_order(store: HistoryStore, workspace: str) -> None:
    """An edit's inputs come back in order; an image used twice is stored once; deletes keep what is used."""
    beach, dog, cat = _jpeg((200, 180, 90)), _png(colour=(90, 60, 30)), _png(colour=(10, 10, 10))
    first = store.add(workspace, "edit", prompt="put the dog on the beach", image_png=_png(),
                      input_images=[beach, dog])
    second = store.add(workspace, "edit", prompt="and the cat", image_png=_png(), input_images=[cat, beach])
    assert (first.input_count, store.get(workspace, second.id).input_count) == (2, 2)
    assert store.input_images(workspace, first.id) == [beach, dog]
    assert store.input_images(workspace, second.id) == [cat, beach]
    assert len(_input_files(store, workspace)) == 3  # beach once, though both entries use it
    assert {path.suffix for path in _input_files(store, workspace)} == {".jpg", ".png"}

    assert store.input_images(new_workspace_id(), first.id) == []  # another workspace sees nothing
    assert store.delete(workspace, first.id)
    assert len(_input_files(store, workspace)) == 2  # the dog went; the beach is still used by `second`
    assert store.input_images(workspace, second.id) == [cat, beach]
    assert store.delete(workspace, second.id)
    assert _input_files(store, workspace) == []


def test_inputs_are_refused_where_they_make_no_sense(store: HistoryStore, workspace: str) -> None:
    """Inputs on a generation, non-images, or too many of them are ValueErrors; nothing is kept."""
    for kind, inputs in (("generation", [_png()]), ("edit", [b"not an image"]), ("edit", [_png()] * 9),
                         ("edit", _png())):
        with pytest.raises(ValueError):
            store.add(workspace, kind, prompt="x", image_png=_png(), input_images=inputs)
    assert store.count(workspace) == 0
    assert _files(_root(store)) == []


def test_cutout_keeps_the_uploaded_file_name(store: HistoryStore, workspace: str) -> None:
    """A cut-out's title and export name come from the uploaded file's name, folders and controls removed."""
    photo = _jpeg((40, 90, 200))
    cut_out = _png(mode="RGBA", colour=(1, 2, 3, 0))
    entry = store.add(workspace, "cutout", prompt="remove background", image_png=cut_out,
                      input_images=[photo], source_name="C:\\Users\\me\\Holiday Photo.jpg\n")
    assert store.get(workspace, entry.id).source_name == "Holiday Photo.jpg"
    assert (entry.title, entry.file_words) == ("Holiday Photo.jpg", "holiday-photo")
    generated = store.add(workspace, "generation", prompt="a kite", image_png=_png(), source_name="x.png")
    assert generated.source_name is None and generated.title == "a kite"
    names = zipfile.ZipFile(io.BytesIO(store.export_zip(workspace))).namelist()
    assert "002-cutout-holiday-photo.png" in names


def test_export_zip_carries_input_images_once(store: HistoryStore, workspace: str) -> None:
    """The zip holds each input image once in inputs/, and history.json lists each entry's inputs."""
    beach, dog = _jpeg((200, 180, 90)), _png(colour=(90, 60, 30))
    store.add(workspace, "edit", prompt="one", image_png=_png(), input_images=[beach, dog])
    store.add(workspace, "edit", prompt="two", image_png=_png(), input_images=[beach])
    archive = zipfile.ZipFile(io.BytesIO(store.export_zip(workspace)))
    inputs = sorted(name for name in archive.namelist() if name.startswith("inputs/"))
    assert len(inputs) == 2
    history = json.loads(archive.read("history.json"))
    assert [len(item["inputs"]) for item in history] == [1, 2]
    assert archive.read(history[0]["inputs"][0]) == beach
    assert [archive.read(name) for name in history[1]["inputs"]] == [beach, dog]


_OLD_SCHEMA = """
CREATE TABLE entries (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, workspace_id TEXT NOT NULL, kind TEXT NOT NULL,
    prompt TEXT NOT NULL, model TEXT, aspect_ratio TEXT, created_at REAL NOT NULL, credits_used INTEGER,
    width INTEGER, height INTEGER, text TEXT, thumbnail BLOB, has_image INTEGER NOT NULL);
CREATE INDEX entries_by_workspace ON entries (workspace_id, created_at DESC, seq DESC);
CREATE INDEX entries_by_workspace_kind ON entries (workspace_id, kind, created_at DESC, seq DESC);
PRAGMA user_version = 1;
"""


def test_a_database_of_the_first_release_is_upgraded_in_place(tmp_path: Path, workspace: str) -> None:
    """A history.sqlite3 made by the old schema opens, keeps its entries and takes inputs and file names."""
    root = tmp_path / "data"
    root.mkdir()
    old = sqlite3.connect(root / "history.sqlite3")
    old.executescript(_OLD_SCHEMA)
    old.execute("INSERT INTO entries (id, workspace_id, kind, prompt, created_at, text, has_image) "
                "VALUES (?, ?, 'enhancement', 'a dog', 1.7e9, 'a golden dog', 0)", ("a" * 24, workspace))
    old.commit()
    old.close()
    with HistoryStore(root) as store:
        kept = store.get(workspace, "a" * 24)
        assert (kept.prompt, kept.text, kept.source_name, kept.input_count) == (
            "a dog", "a golden dog", None, 0)
        cut = store.add(workspace, "cutout", prompt="remove background", image_png=_png(),
                        input_images=[_png()], source_name="cat.png")
        assert store.get(workspace, cut.id).source_name == "cat.png"
        assert store.input_images(workspace, cut.id) == [_png()]
        assert [entry.id for entry in store.list(workspace)] == [cut.id, "a" * 24]
    with HistoryStore(root) as again:  # opening an upgraded database again changes nothing
        assert again.count(workspace) == 2
    check = sqlite3.connect(root / "history.sqlite3")
    assert check.execute("PRAGMA user_version").fetchone()[0] == 3
    check.close()


def _legacy_history(store: HistoryStore, workspace: str) -> None:
    """A workspace with one entry of each kind; two edits share an input image."""
    beach, dog = _png(colour=(0, 90, 200)), _png(colour=(90, 60, 20))
    store.add(workspace, "generation", prompt="a lighthouse", image_png=_png(), model="flux-2-pro",
              credits_used=4)
    store.add(workspace, "edit", prompt="add a dog", image_png=_png(colour=(1, 2, 3)),
              input_images=[beach, dog])
    store.add(workspace, "edit", prompt="at dusk", image_png=_png(colour=(4, 5, 6)), input_images=[beach])
    store.add(workspace, "cutout", prompt="remove background",
              image_png=_png(mode="RGBA", colour=(9, 9, 9, 0)), input_images=[dog], source_name="dog.jpg")
    store.add(workspace, "enhancement", prompt="a cat", text="a cat in golden light", credits_used=0)


def _contents(store: HistoryStore, workspace: str) -> list[tuple[object, ...]]:
    """Everything a person can read of a workspace, without the workspace id: rows, images, inputs."""
    return [(entry.id, entry.kind, entry.prompt, entry.text, entry.source_name, entry.thumbnail,
             entry.input_count, store.image_png(workspace, entry.id), store.input_images(workspace, entry.id))
            for entry in store.list(workspace, limit=100)]


def test_adopting_a_workspace_moves_its_whole_history(store: HistoryStore, workspace: str) -> None:
    """Entries, thumbnails, images and input images all move to the new id; the old id keeps nothing."""
    _legacy_history(store, workspace)
    before = _contents(store, workspace)
    new = new_workspace_id()

    assert store.adopt_workspace(workspace, new) == 5
    assert _contents(store, new) == before
    assert all(entry.workspace_id == new for entry in store.list(new))
    assert store.count(workspace) == 0 and _contents(store, workspace) == []
    assert not (_root(store) / "images" / workspace).exists()
    # Every file left is one a row lists: the sweep finds nothing to remove, even with no age limit.
    assert store.sweep_leftovers(min_age_seconds=0) == 0
    assert _contents(store, new) == before
    assert len(_files(_root(store))) == 4 + 2  # four images, two distinct input images
    with zipfile.ZipFile(io.BytesIO(store.export_zip(new))) as archive:
        assert len([name for name in archive.namelist() if name.startswith("inputs/")]) == 2

    assert store.adopt_workspace(workspace, new_workspace_id()) == 0  # claimed once


def test_adopting_refuses_bad_ids(store: HistoryStore, workspace: str) -> None:
    """Malformed ids and a move onto itself are refused before anything is touched."""
    _legacy_history(store, workspace)
    for old, new in ((workspace, "../escape"), ("../escape", workspace), (workspace, workspace)):
        with pytest.raises(ValueError):
            store.adopt_workspace(old, new)
    assert store.count(workspace) == 5


def test_a_failed_adoption_keeps_the_history_where_it_was(tmp_path: Path, workspace: str) -> None:
    """When the rows can't move (the database stays locked), the old id keeps everything, the new nothing."""
    with HistoryStore(tmp_path / "data", busy_timeout=0.2) as store:
        _legacy_history(store, workspace)
        before = _contents(store, workspace)
        files = _files(_root(store))
        new = new_workspace_id()
        blocker = sqlite3.connect(store.root / "history.sqlite3", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(sqlite3.OperationalError):
                store.adopt_workspace(workspace, new)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert _contents(store, workspace) == before
        assert _files(_root(store)) == files and store.count(new) == 0
        assert store.adopt_workspace(workspace, new) == 5  # the next try claims it whole


@pytest.mark.parametrize("same_process", [True, False])
def test_concurrent_adoptions_give_the_history_to_exactly_one(open_store: Callable[..., HistoryStore],
                                                              workspace: str, same_process: bool) -> None:
    """Two adopters of one old id at once: one gets every entry, the other none; nothing lost or doubled."""
    with open_store() as first, open_store() as second:
        root = _root(first)
        _legacy_history(first, workspace)
        before = _contents(first, workspace)
        files_before = len(_files(root))
        stores = [first, first if same_process else second]  # two instances race like two processes
        new_ids = [new_workspace_id(), new_workspace_id()]
        moved = [0, 0]
        start = threading.Barrier(2)

        def adopt(index: int) -> None:
            start.wait()
            moved[index] = stores[index].adopt_workspace(workspace, new_ids[index])

        threads = [threading.Thread(target=adopt, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(moved) == [0, 5]
        winner, loser = new_ids if moved[0] else reversed(new_ids)
        assert _contents(first, winner) == before
        assert first.count(loser) == 0 and first.count(workspace) == 0
        assert len(_files(root)) == files_before  # no copy left behind, none missing
        assert all(path.parent.name in (winner, "inputs") for path in _files(root))
        assert sorted(path.name for path in (root / "images").iterdir()) == [winner]  # no empty folders


def _searchable(store: HistoryStore, workspace: str) -> dict[str, str]:
    """Entries whose prompts and file names the search tests look for; their ids by a short name."""
    added = {
        "lighthouse": store.add(workspace, "generation", prompt="A Lighthouse on a cliff at dusk",
                                image_png=_png()),
        "kite": store.add(workspace, "edit", prompt="a red kite over the cliff", image_png=_png()),
        "sea": store.add(workspace, "enhancement", prompt="dusk over the sea", text="dusk over the calm sea"),
        "holiday": store.add(workspace, "cutout", prompt="remove background", image_png=_png(),
                             source_name="Holiday-Photo.jpg"),
    }
    return {name: entry.id for name, entry in added.items()}


def _found(store: HistoryStore, workspace: str, search: str | None, kind: str | None = None) -> list[str]:
    """Ids that list() returns for a search, checked against count() for the same search."""
    ids = [entry.id for entry in store.list(workspace, kind=kind, search=search, limit=100)]
    assert store.count(workspace, kind=kind, search=search) == len(ids)
    return ids


def test_search_needs_every_word_in_any_order_and_case(store: HistoryStore, workspace: str) -> None:
    """Every word of the search must appear in the prompt, whatever its case and the words' order."""
    ids = _searchable(store, workspace)
    assert _found(store, workspace, "CLIFF lighthouse") == [ids["lighthouse"]]
    assert _found(store, workspace, "cliff") == [ids["kite"], ids["lighthouse"]]  # newest first
    assert _found(store, workspace, "dusk Cliff") == [ids["lighthouse"]]
    assert _found(store, workspace, "cliff sea") == []
    assert _found(store, workspace, "lightho") == [ids["lighthouse"]]  # a word still being typed
    assert _found(store, workspace, "at cliff") == [ids["lighthouse"]]  # short words count too
    assert _found(store, workspace, "e") == [ids["holiday"], ids["sea"], ids["kite"], ids["lighthouse"]]


def test_search_finds_cutouts_by_their_file_name(store: HistoryStore, workspace: str) -> None:
    """A cut-out is found by the uploaded file's name, and a search may mix its words with the prompt's."""
    ids = _searchable(store, workspace)
    assert _found(store, workspace, "holiday") == [ids["holiday"]]
    assert _found(store, workspace, "photo.JPG") == [ids["holiday"]]
    assert _found(store, workspace, "background holiday") == [ids["holiday"]]
    assert _found(store, workspace, "holiday cliff") == []


def test_search_combines_with_the_kind_filter(store: HistoryStore, workspace: str) -> None:
    """Kind and search both apply: only entries of that kind whose words match."""
    ids = _searchable(store, workspace)
    assert _found(store, workspace, "dusk") == [ids["sea"], ids["lighthouse"]]
    assert _found(store, workspace, "dusk", kind="generation") == [ids["lighthouse"]]
    assert _found(store, workspace, "dusk", kind="enhancement") == [ids["sea"]]
    assert _found(store, workspace, "dusk", kind="cutout") == []


def test_an_empty_search_keeps_everything(store: HistoryStore, workspace: str) -> None:
    """No search, an empty one or one of spaces only filters nothing."""
    ids = _searchable(store, workspace)
    everything = list(reversed(ids.values()))
    for search in (None, "", "   ", "\t\n"):
        assert _found(store, workspace, search) == everything


def test_search_pages_newest_first_within_its_workspace(store: HistoryStore, workspace: str) -> None:
    """Matches page like the whole history, newest first, and never come from another workspace."""
    other = new_workspace_id()
    store.add(other, "enhancement", prompt="a boat 99", text="x")
    boats = [store.add(workspace, "enhancement", prompt=f"a boat {index}", text="x").id for index in range(7)]
    store.add(workspace, "enhancement", prompt="a car", text="x")
    pages = [store.list(workspace, search="boat", limit=3, offset=offset) for offset in (0, 3, 6)]
    assert [[entry.id for entry in page] for page in pages] == [boats[6:3:-1], boats[3:0:-1], boats[:1]]
    assert store.count(workspace, search="BOAT") == 7
    assert store.count(workspace, search="99") == 0


def test_search_follows_deletes_and_moved_workspaces(store: HistoryStore, workspace: str) -> None:
    """A deleted entry is no longer found; entries moved to a new workspace id are found there."""
    ids = _searchable(store, workspace)
    assert store.delete(workspace, ids["kite"])
    assert _found(store, workspace, "cliff") == [ids["lighthouse"]]
    new = new_workspace_id()
    assert store.adopt_workspace(workspace, new) == 3
    assert _found(store, new, "cliff") == [ids["lighthouse"]]
    assert _found(store, workspace, "cliff") == []


@pytest.mark.parametrize("search, expected", [
    ('"', ["quote"]), ('said "hi"', ["quote"]), ('"hi', ["quote"]), ("*", ["star"]), ("5*3", ["star"]),
    ("light*", []), ("NEAR", ["near"]), ("NEAR(kite boat)", []), ("-", ["dash"]), ("-lit", ["dash"]),
    ("well-lit", ["dash"]), ("-kite", []), (":", ["colon"]), ("16:9", ["colon"]), ("words:kite", []),
    ("%", ["percent"]), ("_", ["underscore"]), ("a_b", ["underscore"]), ("kite OR boat", []),
    ("(", []), ("^kite", []), ("kite AND", []), ("NOT", []),
])
def test_search_syntax_is_only_text(store: HistoryStore, workspace: str, search: str,
                                    expected: list[str]) -> None:
    """Quotes, *, NEAR, -, :, %, _ and operators in a search never raise and are matched literally."""
    names = {
        "quote": 'she said "hi"', "star": "5*3 stars", "near": "NEAR the kite", "dash": "a well-lit boat",
        "colon": "ratio 16:9 kite", "percent": "100% cotton", "underscore": "a_b kite",
    }
    ids = {store.add(workspace, "enhancement", prompt=prompt, text="x").id: name
           for name, prompt in names.items()}
    assert sorted(ids[entry_id] for entry_id in _found(store, workspace, search)) == expected


def test_search_ignores_accents(tmp_path: Path, workspace: str) -> None:
    """Accents are folded both ways: "cafe" finds "Café crème", and "CRÈME" finds "creme brulee"."""
    with HistoryStore(tmp_path / "data") as store:
        cafe = store.add(workspace, "enhancement", prompt="Café crème at noon", text="x")
        brulee = store.add(workspace, "enhancement", prompt="creme brulee", text="x")
        assert [entry.id for entry in store.list(workspace, search="cafe")] == [cafe.id]
        assert [entry.id for entry in store.list(workspace, search="CRÈME")] == [brulee.id, cafe.id]


def test_an_older_database_is_searchable_after_the_upgrade(tmp_path: Path, workspace: str) -> None:
    """Entries saved before search existed are found once the database is opened (index built in place)."""
    root = tmp_path / "data"
    root.mkdir()
    old = sqlite3.connect(root / "history.sqlite3")
    old.executescript(_OLD_SCHEMA)
    old.execute("INSERT INTO entries (id, workspace_id, kind, prompt, created_at, text, has_image) "
                "VALUES (?, ?, 'enhancement', 'a Dog on the beach', 1.7e9, 'x', 0)", ("b" * 24, workspace))
    old.commit()
    old.close()
    with HistoryStore(root) as store:
        assert [entry.id for entry in store.list(workspace, search="beach dog")] == ["b" * 24]
        added = store.add(workspace, "enhancement", prompt="a dog in the snow", text="x")
        assert [entry.id for entry in store.list(workspace, search="dog")] == [added.id, "b" * 24]
    with HistoryStore(root) as again:  # opening it again neither loses nor doubles index rows
        assert again.count(workspace, search="dog") == 2
        assert again.count(workspace, search="snow") == 1


def test_a_line_break_in_a_prompt_separates_words(store: HistoryStore, workspace: str) -> None:
    """Words on either side of a line break or tab are found, and are not glued into one word."""
    kite = store.add(workspace, "enhancement", prompt="a red\nkite\tflying", text="x")
    assert _found(store, workspace, "red kite flying") == [kite.id]
    assert _found(store, workspace, "redkite") == []
    assert _found(store, workspace, "kiteflying") == []
