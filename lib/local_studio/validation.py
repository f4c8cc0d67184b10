"""Turning a request body into a checked StudioRequest, and its input images into decoded pictures."""

from __future__ import annotations

import io
import json
import re
import warnings
from dataclasses import dataclass

from PIL import Image

from lib.contract import (
    ASPECT_RATIOS,
    DEFAULT_ASPECT_RATIO,
    DEFAULT_MODEL,
    MAX_INPUT_IMAGES,
    MAX_PIXELS,
    input_count_problem,
    model_problem,
    prompt_problem,
)
from lib.images import ImageInputError, decode_data_url, load_image, to_rgb_or_rgba
from lib.local_studio.errors import StudioError
from lib.local_studio.image_urls import ImageFetchPolicy, ImageUrlError, fetch_image_bytes

ACTIONS = ("generate", "enhance_prompt")
_IMAGE_FIELD = re.compile(r"input_image(?:_(\d+))?")
_HIGHEST_IMAGE_FIELD = max(MAX_INPUT_IMAGES.values())


@dataclass(frozen=True)
class StudioRequest:
    """A checked request: what to do, with which prompt, model and ratio, and the raw input images."""

    action: str
    prompt: str
    model: str
    aspect_ratio: str
    images: tuple[tuple[str, str], ...] = ()  # (field name, data URL / base64 / URL), in field order


def parse_json_body(raw: bytes) -> dict:
    """The body as a JSON object; a StudioError (400) when it is not one."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StudioError(400, f"The body is not valid JSON ({exc.__class__.__name__}).") from exc
    except RecursionError as exc:
        raise StudioError(400, "The body is not valid JSON (nested too deeply).") from exc
    if not isinstance(body, dict):
        raise StudioError(400, 'The body must be a JSON object, like {"prompt": "..."}.')
    for name, value in body.items():
        # JSON may escape half of a surrogate pair ("\ud800"): such text can't be encoded, logged or echoed.
        if not _is_encodable(name) or (isinstance(value, str) and not _is_encodable(value)):
            raise StudioError(
                400, f"The field {_shown(name)} holds text that is not valid Unicode (an unpaired surrogate)."
            )
    return body


def parse_request(body: dict) -> StudioRequest:
    """Check the fields the contract defines; a StudioError (400) names the first one that is wrong."""
    action = body.get("action")
    if action is None:
        action = "generate"
    if not isinstance(action, str) or action not in ACTIONS:
        raise StudioError(400, f"Unknown action {_shown(action)}: use one of {', '.join(ACTIONS)}.")
    prompt = body.get("prompt")
    _refuse(prompt_problem(prompt))
    assert isinstance(prompt, str)  # prompt_problem refuses anything else
    if action == "enhance_prompt":
        # Enhancement reads only the prompt; other fields are ignored rather than refused.
        return StudioRequest(action, prompt, DEFAULT_MODEL, DEFAULT_ASPECT_RATIO)
    # The documentation calls `model` required, yet its own examples and clients may leave it out:
    # an absent model means the default (flux-2-pro), a present but unknown one is refused.
    model = body.get("model")
    if model is None:
        model = DEFAULT_MODEL
    _refuse(model_problem(model))
    aspect_ratio = body.get("aspect_ratio")
    if aspect_ratio is None:
        aspect_ratio = DEFAULT_ASPECT_RATIO
    if not isinstance(aspect_ratio, str) or aspect_ratio not in ASPECT_RATIOS:
        raise StudioError(
            400, f"Unknown aspect_ratio {_shown(aspect_ratio)}: use one of {', '.join(ASPECT_RATIOS)}."
        )
    images = _image_fields(body)
    _refuse(input_count_problem(model, len(images)))
    return StudioRequest(action, prompt, model, aspect_ratio, images)


def read_input_images(request: StudioRequest, policy: ImageFetchPolicy) -> list[tuple[str, bytes]]:
    """The encoded bytes of every input image (decoded from base64 or fetched by URL), by field name."""
    return [(field, _read(field, value, policy)) for field, value in request.images]


def decode_input_images(encoded: list[tuple[str, bytes]]) -> list[Image.Image]:
    """Decode every input image to RGB or RGBA; a StudioError (400) names the field at fault."""
    return [_decode(field, data) for field, data in encoded]


def _refuse(problem: str | None) -> None:
    if problem is not None:
        raise StudioError(400, problem)


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _image_fields(body: dict) -> tuple[tuple[str, str], ...]:
    found: list[tuple[int, str, str]] = []
    for field, value in body.items():
        match = _IMAGE_FIELD.fullmatch(field)
        if match is None or value is None:
            continue
        digits = match.group(1)
        index = 1
        if digits is not None:
            # Only one digit names a real field; int() of 5,000 digits raises, so look at the length first.
            index = int(digits) if len(digits) <= 2 else 0
            if not 2 <= index <= _HIGHEST_IMAGE_FIELD:
                # input_image_1 or input_image_9 would be silently dropped by the real engines: say so.
                raise StudioError(
                    400,
                    f"Unknown field {_shown(field)}: input images are input_image, input_image_2 ... "
                    f"input_image_{_HIGHEST_IMAGE_FIELD}.",
                )
        if not isinstance(value, str) or not value.strip():
            raise StudioError(400, f"{field} must be a data URL, base64 text or an http(s) URL of an image.")
        found.append((index, field, value))
    return tuple((field, value) for _, field, value in sorted(found))


def _read(field: str, value: str, policy: ImageFetchPolicy) -> bytes:
    try:
        if value.lstrip()[:8].lower().startswith(("http://", "https://")):
            return fetch_image_bytes(value.strip(), policy)
        return decode_data_url(value, name=field)
    except ImageUrlError as exc:
        raise StudioError(400, f"{field}: {exc}") from exc
    except ImageInputError as exc:
        raise StudioError(400, str(exc)) from exc


def _decode(field: str, data: bytes) -> Image.Image:
    _refuse_oversized(field, data)
    try:
        return to_rgb_or_rgba(load_image(data, name=field), name=field)
    except ImageInputError as exc:
        raise StudioError(400, str(exc)) from exc


def _refuse_oversized(field: str, data: bytes) -> None:
    """Refuse images over the engines' pixel limit from their header, before spending time decoding them."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we refuse those ourselves
            with Image.open(io.BytesIO(data)) as probe:
                width, height = probe.size
    except Exception:  # not readable: load_image gives the plain-language reason
        return
    if width * height > MAX_PIXELS:
        raise StudioError(
            400,
            f"{field} is too large ({width} x {height} pixels); the limit is {MAX_PIXELS:,} pixels. "
            "Downscale it before sending.",
        )


def _shown(value: object) -> str:
    """A short, safe rendering of a client's value for an error message."""
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
