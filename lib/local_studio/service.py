"""What the Local Studio does with a request, without HTTP: check, charge, run an engine, keep the result."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from lib.contract import BACKGROUND_REMOVAL_CREDITS, asks_for_background_removal
from lib.local_studio import engines
from lib.local_studio.config import StudioConfig
from lib.local_studio.errors import StudioError
from lib.local_studio.files import ResultStore
from lib.local_studio.ledger import CreditLedger, IdempotencyCache, InsufficientCredits, StoredResponse
from lib.local_studio.validation import StudioRequest, load_input_images, parse_json_body, parse_request

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
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
        self.config = config
        self.ledger = CreditLedger(config.starting_credits)
        self.idempotency = IdempotencyCache()
        self.results = ResultStore(config.max_stored_bytes)

    def handle(
        self, account: str, raw_body: bytes, *, request_id: str, files_url: str, idempotency_key: str | None
    ) -> Outcome:
        """Answer one POST body for an authenticated account (blocking: run it off the event loop)."""
        body = parse_json_body(raw_body)
        request = parse_request(body)
        if idempotency_key is None:
            return Outcome(self._answer(account, request, request_id, files_url), request_id)
        fingerprint = _fingerprint(body)
        # Holding the key's lock for the whole request makes a concurrent repeat wait, then replay.
        with self.idempotency.hold(account, idempotency_key):
            stored = self.idempotency.get(account, idempotency_key)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    raise StudioError(
                        422, "This Idempotency-Key was already used with a different request: use a new key."
                    )
                return Outcome(stored.body, stored.request_id, replayed=True)
            answer = self._answer(account, request, request_id, files_url)
            # Only successes are remembered: a failed request charged nothing, so a retry may try again.
            self.idempotency.put(account, idempotency_key, StoredResponse(fingerprint, answer, request_id))
            return Outcome(answer, request_id)

    def _answer(self, account: str, request: StudioRequest, request_id: str, files_url: str) -> dict:
        if request.action == "enhance_prompt":
            return {
                "enhanced_prompt": engines.enhance_prompt(request.prompt),
                "credits_used": 0,
                "credits_remaining": self.ledger.balance(account),
                "request_id": request_id,
                "engine": "local-enhancer",
            }
        job = self._job_for(request)
        remaining = self._charge(account, job.credits)
        try:
            image = job.render()
            png = _encode_png(image)
        except Exception as exc:
            self.ledger.refund(account, job.credits)
            logger.exception("The %s engine failed (request %s)", job.engine, request_id)
            message = f"The {job.engine} engine failed on this request; no credits were used."
            raise StudioError(500, message) from exc
        file_id = self.results.add(png)
        return {
            "image_url": f"{files_url}/{file_id}.png",
            "width": image.width,
            "height": image.height,
            "credits_used": job.credits,
            "credits_remaining": remaining,
            "request_id": request_id,
            "model": job.model,
            "engine": job.engine,
        }

    def _job_for(self, request: StudioRequest) -> _Job:
        """Route like the API: image + background words -> cutout, image -> edit, no image -> generation."""
        images = load_input_images(request)
        price = self.config.model_prices[request.model]
        if images and asks_for_background_removal(request.prompt):
            # Background removal is its own engine at a flat price: no FLUX model is involved.
            return _Job(
                "local-background-removal",
                BACKGROUND_REMOVAL_CREDITS,
                None,
                lambda: _as_rgba(engines.remove_background(images[0])),
            )
        if images:
            # The offline editor works on the first image; the others are checked, but only FLUX reads them.
            return _Job(
                "local-edit", price, request.model, lambda: engines.edit_image(request.prompt, images[0])
            )
        width, height = engines.output_size(request.aspect_ratio)
        return _Job(
            "local-preview",
            price,
            request.model,
            lambda: engines.render_preview(request.prompt, width, height),
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


def _encode_png(image: Image.Image) -> bytes:
    # Light compression: on loopback, encoding time matters more than bytes (level 1 is ~3x faster than 6).
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
