"""What people do in the app, as plain calls: each asks the API through the client and keeps the result."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from lib.budget import PersonalBudget, charged, require_room
from lib.client import ImageResult, ImageStudioClient
from lib.contract import (
    ASPECT_RATIOS,
    BACKGROUND_REMOVAL_CREDITS,
    MODELS,
    asks_for_background_removal,
    aspect_ratio_value,
    credits_for,
    images_per_click,
)
from lib.errors import ImageStudioError, InvalidRequestError
from lib.history_entry import HistoryEntry
from lib.history_store_base import HistorySaveError, HistoryStoreBase
from lib.images import ImageInputError, load_image, to_rgb_or_rgba

# One limit for Streamlit's uploader (.streamlit/config.toml maxUploadSize) and for our own check.
MAX_UPLOAD_MB = 50
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
UPLOAD_TYPES: tuple[str, ...] = ("png", "jpg", "jpeg", "webp")
UPLOAD_THUMBNAIL_SIDE = 160
REMOVE_BACKGROUND_PROMPT = "remove background"
# Calls of one Generate click that run at once: four images, or both models. The API answers each in
# seconds to tens of seconds, so waiting on them side by side makes a batch take the time of one.
MAX_CALLS_AT_ONCE = 4
# Photos one Remove background click takes, and how many of them are sent at once.
MAX_BULK_PHOTOS = 20
# Enough to overlap the waits of a remote engine, few enough not to crowd one person's share of the API.
# Five, not four: ten photos then take two rounds of the engine's wait, not three (bench/bulk_cutouts.py).
BULK_WORKERS = 5


@dataclass(frozen=True)
class InputImage:
    """An uploaded file as the person chose it: its name (for messages) and its bytes."""

    name: str
    data: bytes = field(repr=False)

    def getvalue(self) -> bytes:
        """The file's bytes (the client reads uploads this way and names the file in its messages)."""
        return self.data


@dataclass(frozen=True)
class Outcome:
    """A finished request: the history entry it produced and what the server reported about credits."""

    entry: HistoryEntry
    credits_used: int | None = None
    credits_remaining: int | None = None
    is_preview: bool = False


def routes_to_background_removal(prompt: str, image_count: int) -> bool:
    """True when the API will send this request to background removal (an image + words asking for it)."""
    return image_count > 0 and asks_for_background_removal(prompt)


def slot_models(model: str, count: int, *, compare: bool, background_removal: bool) -> list[str]:
    """The model of each image one Generate click makes, in the order shown: one slot per paid call."""
    if compare and not background_removal:
        return list(MODELS)
    return [model] * images_per_click(count, background_removal=background_removal)


def request_kind(prompt: str, image_count: int) -> str:
    """History kind of a generate request: a cut-out, an edit of input images, or a new generation."""
    if routes_to_background_removal(prompt, image_count):
        return "cutout"
    return "edit" if image_count else "generation"


def check_upload(image: InputImage) -> bytes:
    """Check that an upload is a usable image and return a small PNG/JPEG thumbnail of it."""
    if len(image.data) > MAX_UPLOAD_BYTES:
        size_mb = len(image.data) / 1_048_576
        raise ImageInputError(f"{image.name} is {size_mb:,.1f} MB; the limit is {MAX_UPLOAD_MB} MB per file.")
    side = UPLOAD_THUMBNAIL_SIDE
    # Big JPEGs decode at a reduced scale: the full check of every pixel happens again before sending.
    picture = to_rgb_or_rgba(load_image(image.data, name=image.name, max_pixels=4 * side * side))
    picture.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = io.BytesIO()
    if picture.mode == "RGBA":
        picture.save(out, "PNG")
    else:
        picture.save(out, "JPEG", quality=85)
    return out.getvalue()


def orientation(aspect_ratio: str) -> str:
    """The output's orientation in words: landscape, portrait or square."""
    value = aspect_ratio_value(aspect_ratio)
    if value > 1:
        return "landscape"
    return "portrait" if value < 1 else "square"


def size_orientation(width: int, height: int) -> str:
    """An image's orientation in words, from its size."""
    if width > height:
        return "landscape"
    return "portrait" if width < height else "square"


def form_values(settings: Mapping[str, Any]) -> dict[str, str]:
    """Generate-form values (prompt, model, aspect_ratio) from saved settings; unknown values are left out."""
    values: dict[str, str] = {}
    # An enhancement is reused by its enhanced prompt: that is the text people want to generate from.
    prompt = settings.get("enhanced_prompt") or settings.get("prompt")
    if isinstance(prompt, str) and prompt.strip():
        values["prompt"] = prompt
    if settings.get("model") in MODELS:
        values["model"] = settings["model"]
    if settings.get("aspect_ratio") in ASPECT_RATIOS:
        values["aspect_ratio"] = settings["aspect_ratio"]
    return values


def download_name(entry: HistoryEntry, extension: str = "png") -> str:
    """A file name people recognise: a cut-out by its uploaded file's name, others by kind and prompt."""
    if entry.kind == "cutout" and entry.source_name:
        return f"{entry.file_words}-cutout.{extension}"
    return f"image-studio-{entry.kind}-{entry.file_words}-{entry.id[:6]}.{extension}"


def bulk_count_problem(count: int) -> str | None:
    """Why this many photos can't go in one Remove background click, in plain words; None when fine."""
    if count <= MAX_BULK_PHOTOS:
        return None
    extra = count - MAX_BULK_PHOTOS
    return (f"You chose {count} photos; at most {MAX_BULK_PHOTOS} go at once. "
            f"Remove {extra} (or do them in a second round) to continue.")


def cutouts_credits(count: int) -> int:
    """Credits that cutting out `count` photos costs."""
    return BACKGROUND_REMOVAL_CREDITS * count


def cutouts_zip(store: HistoryStoreBase, workspace_id: str, entry_ids: Sequence[str],
                unsaved: Sequence[tuple[str, bytes]] = ()) -> bytes:
    """A zip of cut-outs, one PNG each named after its uploaded file; unsaved ones as (name, PNG) pairs."""
    files: list[tuple[str, bytes]] = []
    for entry_id in entry_ids:
        entry = store.get(workspace_id, entry_id)
        png = store.image_png(workspace_id, entry_id) if entry else None
        if entry and png:  # one deleted from History meanwhile is left out
            files.append((download_name(entry), png))
    files.extend(unsaved)
    out = io.BytesIO()
    taken: set[str] = set()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:  # PNGs are compressed already
        for name, png in files:
            archive.writestr(_unique_name(name, taken), png)
    return out.getvalue()


def _unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name-2`, `name-3`... when two uploads had the same name."""
    stem, dot, extension = name.rpartition(".")
    unique, number = name, 1
    while unique in taken:
        number += 1
        unique = f"{stem}-{number}{dot}{extension}"
    taken.add(unique)
    return unique


class Workspace:
    """One person's workspace: runs requests through their client and records every result in history."""

    def __init__(
        self, client: ImageStudioClient, store: HistoryStoreBase, workspace_id: str,
        budget: PersonalBudget | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.workspace_id = workspace_id
        self.budget = budget  # the person's daily budget on the team's key; None: not limited

    def generate(
        self, prompt: str, *, model: str, aspect_ratio: str | None, input_images: Sequence[InputImage] = ()
    ) -> Outcome:
        """Generate (or edit, or cut out) one image and save it to history."""
        return self._generate(prompt, model, aspect_ratio, input_images)

    def compare_models(
        self, prompt: str, *, aspect_ratio: str | None, input_images: Sequence[InputImage] = ()
    ) -> dict[str, Outcome | ImageStudioError]:
        """Run the same request on every model at once; each model's result or error, in MODELS order."""
        done = dict(self.generate_many(prompt, models=list(MODELS), aspect_ratio=aspect_ratio,
                                       input_images=input_images))
        return {model: done[slot] for slot, model in enumerate(MODELS)}

    def generate_many(
        self, prompt: str, *, models: Sequence[str], aspect_ratio: str | None,
        input_images: Sequence[InputImage] = (),
    ) -> Iterator[tuple[int, Outcome | ImageStudioError]]:
        """One request per entry of `models`, sent at once; yields (slot, result or error) as each ends.

        Raises BudgetExceededError, before anything is sent, when the calls together would not fit.
        """
        cutout = routes_to_background_removal(prompt, len(input_images))
        # Nothing is sent when the calls together would not fit; each still reserves its own cost as it goes.
        require_room(self.budget, sum(credits_for(model, background_removal=cutout) if model in MODELS else 0
                                      for model in models))
        pool = ThreadPoolExecutor(max_workers=max(1, min(MAX_CALLS_AT_ONCE, len(models))),
                                  thread_name_prefix="generate")
        futures = {pool.submit(self._generate_on_own_client, prompt, model, aspect_ratio, input_images): slot
                   for slot, model in enumerate(models)}
        return self._as_they_end(pool, futures)

    @staticmethod
    def _as_they_end(
        pool: ThreadPoolExecutor, futures: Mapping[Future[Outcome], int]
    ) -> Iterator[tuple[int, Outcome | ImageStudioError]]:
        try:
            for future in as_completed(futures):
                try:
                    yield futures[future], future.result()
                except ImageStudioError as error:
                    # One call failing (e.g. out of credits after the first) must not hide the others.
                    yield futures[future], error
        finally:
            # A page run stopped half-way (the person clicked elsewhere) does not wait: calls already sent
            # finish on their own and are saved to History, as they were paid for.
            pool.shutdown(wait=False, cancel_futures=True)

    def _generate_on_own_client(
        self, prompt: str, model: str, aspect_ratio: str | None, input_images: Sequence[InputImage]
    ) -> Outcome:
        # requests.Session is not documented as thread-safe, so each call running at once gets a client of
        # its own (same key, endpoint and timeouts). Building one takes well under a millisecond; its cost
        # is a fresh connection (a TLS handshake with the real API), small beside a generation's seconds.
        with self.client.copy() as client:
            return self._generate(prompt, model, aspect_ratio, input_images, client=client)

    def enhance_prompt(self, prompt: str) -> Outcome:
        """Rewrite a prompt into a detailed one (free) and save the pair to history."""
        enhanced = self.client.enhance_prompt(prompt)
        # A failed save raises HistorySaveError carrying the unsaved entry, enhanced text included.
        entry = self.store.add(self.workspace_id, "enhancement", prompt=prompt, text=enhanced, credits_used=0)
        return Outcome(entry=entry, credits_used=0)

    def remove_background(self, image: InputImage) -> Outcome:
        """Cut the subject out of a photo (transparent PNG) and save it to history with the photo."""
        return self._remove_background(self.client, image)

    def _remove_background(self, client: ImageStudioClient, image: InputImage) -> Outcome:
        with charged(self.budget, BACKGROUND_REMOVAL_CREDITS) as charge:
            result = client.remove_background(image)
            charge.actual = result.credits_used
        return self._save(result, "cutout", prompt=REMOVE_BACKGROUND_PROMPT, model=None, aspect_ratio=None,
                          fallback_credits=BACKGROUND_REMOVAL_CREDITS, input_images=[image])

    def remove_backgrounds(
        self, photos: Sequence[InputImage], *, workers: int = BULK_WORKERS
    ) -> Iterator[tuple[int, Outcome | ImageStudioError]]:
        """Cut out several photos at once; yields (index, its outcome or error) as each one finishes.

        Raises before sending anything when there are too many photos or the budget can't pay for all.
        """
        if problem := bulk_count_problem(len(photos)):
            raise InvalidRequestError(problem)
        require_room(self.budget, cutouts_credits(len(photos)))
        pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(photos))), thread_name_prefix="cutout")
        futures = {pool.submit(self._remove_background_on_own_client, photo): index
                   for index, photo in enumerate(photos)}
        return self._as_they_end(pool, futures)

    def _remove_background_on_own_client(self, photo: InputImage) -> Outcome:
        with self.client.copy() as client:  # requests.Session is not documented as thread-safe
            return self._remove_background(client, photo)

    def _generate(
        self, prompt: str, model: str, aspect_ratio: str | None, input_images: Sequence[InputImage],
        *, client: ImageStudioClient | None = None,
    ) -> Outcome:
        kind = request_kind(prompt, len(input_images))
        # An unknown model costs nothing here: the client refuses it before sending, so nothing is spent.
        cost = credits_for(model, background_removal=kind == "cutout") if model in MODELS else 0
        with charged(self.budget, cost) as charge:
            # The client checks, shrinks and re-encodes each upload, naming the file in any refusal.
            result = (client or self.client).generate(
                prompt, model=model, aspect_ratio=aspect_ratio, input_images=list(input_images) or None
            )
            charge.actual = result.credits_used
        fallback = BACKGROUND_REMOVAL_CREDITS if kind == "cutout" else None
        return self._save(result, kind, prompt=prompt, model=model, aspect_ratio=aspect_ratio,
                          fallback_credits=fallback, input_images=input_images)

    def _save(
        self, result: ImageResult, kind: str, *, prompt: str, model: str | None, aspect_ratio: str | None,
        fallback_credits: int | None, input_images: Sequence[InputImage],
    ) -> Outcome:
        credits_used = result.credits_used if result.credits_used is not None else fallback_credits
        try:
            entry = self.store.add(
                self.workspace_id, kind, prompt=prompt, image_png=result.image_bytes,
                model=model, aspect_ratio=aspect_ratio, credits_used=credits_used,
                # As the person gave them: Reuse sends them again through the same checks.
                input_images=[image.data for image in input_images],
                source_name=input_images[0].name if kind == "cutout" and input_images else None,
            )
        except HistorySaveError as error:
            error.request_id = result.request_id
            raise
        except ValueError as exc:
            raise HistorySaveError(
                "The server's answer arrived but its image could not be read, so it was not saved to "
                "history. Try again; if it keeps happening, note the request id for support.",
                image_png=result.image_bytes, request_id=result.request_id,
            ) from exc
        return Outcome(entry=entry, credits_used=credits_used, credits_remaining=result.credits_remaining,
                       is_preview=result.is_preview)
