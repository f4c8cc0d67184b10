"""What the Local Studio does with a request, without HTTP: check, charge, run an engine, keep the result."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image

from lib.contract import BACKGROUND_REMOVAL_CREDITS, asks_for_background_removal
from lib.images import encode_png
from lib.local_studio import engines
from lib.local_studio.config import StudioConfig
from lib.local_studio.errors import StudioError
from lib.local_studio.files import ResultStore
from lib.local_studio.image_urls import ImageFetchPolicy
from lib.local_studio.ledger import CreditLedger, IdempotencyCache, InsufficientCredits, StoredResponse
from lib.local_studio.validation import (
    StudioRequest,
    decode_input_images,
    parse_json_body,
    parse_request,
    read_input_images,
)

logger = logging.getLogger(__name__)


# Seconds a caller told "busy" should wait before retrying: about one engine job on this kind of machine.
BUSY_RETRY_AFTER_S = 5


@dataclass(frozen=True)
class StudioAnswer:
    """A successful answer: its JSON body, its request id, and whether it replays an earlier answer."""

    body: dict
    request_id: str
    replayed: bool = False


@dataclass(frozen=True)
class _Job:
    engine: str
    credits: int
    model: str | None
    render: Callable[[], Image.Image]


class Studio:
    """The ledger, the Idempotency-Key memory and the result store of one server, and the work itself."""

    def __init__(self, config: StudioConfig) -> None:
        if config.public_base_url is None:
            raise ValueError("The Local Studio needs its public base URL to hand out result URLs.")
        self.config = config
        self.files_url = config.public_base_url + "/files"
        self.ledger = CreditLedger(config.starting_credits)
        self.idempotency = IdempotencyCache(config.idempotency_keys_per_account, config.idempotency_max_age_s)
        self.results = ResultStore(config.max_stored_bytes)
        self.fetch_policy = ImageFetchPolicy.allowing(
            config.private_image_networks, config.image_fetch_deadline_s
        )
        self._engine_slots = threading.BoundedSemaphore(config.max_concurrent_jobs)

    def handle(
        self, account: str, raw_body: bytes, *, request_id: str, idempotency_key: str | None
    ) -> StudioAnswer:
        """Answer one POST body for an authenticated account (blocking: run it off the event loop)."""
        body = parse_json_body(raw_body)
        request = parse_request(body)
        # A free request charges nothing, so repeating it is harmless: it needs no remembered answer.
        if idempotency_key is None or request.action == "enhance_prompt":
            return StudioAnswer(self._answer(account, request, request_id), request_id)
        fingerprint = _fingerprint(body)
        # Holding the key's lock for the whole request makes a concurrent repeat wait, then replay.
        with self.idempotency.hold(account, idempotency_key):
            stored = self.idempotency.get(account, idempotency_key)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    raise StudioError(
                        422, "This Idempotency-Key was already used with a different request: use a new key."
                    )
                return StudioAnswer(stored.body, stored.request_id, replayed=True)
            answer = self._answer(account, request, request_id)
            # Only successes are remembered: a failed request charged nothing, so a retry may try again.
            self.idempotency.put(account, idempotency_key, StoredResponse(fingerprint, answer, request_id))
            return StudioAnswer(answer, request_id)

    def _answer(self, account: str, request: StudioRequest, request_id: str) -> dict:
        if request.action == "enhance_prompt":
            return {
                "enhanced_prompt": engines.enhance_prompt(request.prompt),
                "credits_used": 0,
                "credits_remaining": self.ledger.balance(account),
                "request_id": request_id,
                "engine": "local-enhancer",
            }
        # Fetched outside an engine slot: waiting on someone's slow server costs no memory worth guarding.
        encoded = read_input_images(request, self.fetch_policy)
        with self._engine_slot():
            job = self._job_for(request, decode_input_images(encoded))
            remaining = self._charge(account, job.credits)
            try:
                image = job.render()
                # Light compression: the bytes cross the loopback, where encoding time matters more than size.
                png = encode_png(image, compress_level=1)
            except Exception as exc:
                self.ledger.refund(account, job.credits)
                logger.exception("The %s engine failed (request %s)", job.engine, request_id)
                message = f"The {job.engine} engine failed on this request; no credits were used."
                raise StudioError(500, message) from exc
        file_id = self.results.add(png)
        return {
            "image_url": f"{self.files_url}/{file_id}.png",
            "width": image.width,
            "height": image.height,
            "credits_used": job.credits,
            "credits_remaining": remaining,
            "request_id": request_id,
            "model": job.model,
            "engine": job.engine,
        }

    @contextmanager
    def _engine_slot(self) -> Iterator[None]:
        """One of the few engine slots: a short wait in line, then 503 with Retry-After (nothing charged)."""
        # Waiting absorbs bursts (two models compared at once, a few tabs); a 503 under sustained overload is
        # what clients retry safely, with the same Idempotency-Key, after Retry-After.
        if not self._engine_slots.acquire(timeout=self.config.job_wait_s):
            raise StudioError(
                503,
                "The Local Studio is busy with other work: try again in a few seconds. Nothing was charged.",
                headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
            )
        try:
            yield
        finally:
            self._engine_slots.release()

    def _job_for(self, request: StudioRequest, images: list[Image.Image]) -> _Job:
        """Route like the API: image + background words -> cutout, image -> edit, no image -> generation."""
        price = self.config.model_prices[request.model]
        if images and asks_for_background_removal(request.prompt):
            # Background removal is its own engine at a flat price: no FLUX model is involved.
            return _Job(
                "local-background-removal",
                BACKGROUND_REMOVAL_CREDITS,
                None,
                lambda: _as_rgba(engines.remove_background(images[0])),
            )
        width, height = engines.output_size(request.aspect_ratio)
        if images:
            # Like generation, an edit comes out at the ratio's size; every input image is composed into it.
            return _Job(
                "local-edit",
                price,
                request.model,
                lambda: engines.edit_image(request.prompt, images, (width, height)),
            )
        return _Job(
            "local-preview",
            price,
            request.model,
            lambda: engines.render_preview(request.prompt, width, height, request.model),
        )

    def _charge(self, account: str, credits: int) -> int:
        try:
            return self.ledger.charge(account, credits)
        except InsufficientCredits as exc:
            raise StudioError(
                402,
                f"Not enough credits: this request costs {exc.needed} and {exc.balance} are left. "
                "Top up in the billing dashboard (for the Local Studio: restart it, with --credits to choose "
                "the starting balance).",
            ) from exc


def _fingerprint(body: dict) -> str:
    """A digest of the request's meaning, so a reused key with a different request is caught."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _as_rgba(image: Image.Image) -> Image.Image:
    return image if image.mode == "RGBA" else image.convert("RGBA")
