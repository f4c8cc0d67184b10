"""Turning a request body into a checked StudioRequest, and its input images into decoded pictures."""

from __future__ import annotations

import io
import json
import re
import time
import warnings
from dataclasses import dataclass

import requests
from PIL import Image

from lib.contract import (
    ASPECT_RATIOS,
    DEFAULT_ASPECT_RATIO,
    DEFAULT_MODEL,
    MAX_BODY_BYTES,
    MAX_INPUT_IMAGES,
    MAX_PIXELS,
    MAX_PROMPT_CHARS,
    MODELS,
)
from lib.images import ImageInputError, decode_data_url, load_image, to_rgb_or_rgba
from lib.local_studio.errors import StudioError

ACTIONS = ("generate", "enhance_prompt")
_IMAGE_FIELD = re.compile(r"input_image(?:_(\d+))?")
_HIGHEST_IMAGE_FIELD = max(MAX_INPUT_IMAGES.values())
_FETCH_TIMEOUT = (5.0, 20.0)  # (connect, read) seconds for an input image given by URL
_FETCH_DEADLINE_S = 30.0  # a server that drips bytes must not hold a worker thread for long


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
    return body


def parse_request(body: dict) -> StudioRequest:
    """Check the fields the contract defines; a StudioError (400) names the first one that is wrong."""
    action = body.get("action")
    if action is None:
        action = "generate"
    if not isinstance(action, str) or action not in ACTIONS:
        raise StudioError(400, f"Unknown action {_shown(action)}: use one of {', '.join(ACTIONS)}.")
    prompt = _prompt(body.get("prompt"))
    if action == "enhance_prompt":
        # Enhancement reads only the prompt; other fields are ignored rather than refused.
        return StudioRequest(action, prompt, DEFAULT_MODEL, DEFAULT_ASPECT_RATIO)
    # The documentation calls `model` required, yet its own examples and clients may leave it out:
    # an absent model means the default (flux-2-pro), a present but unknown one is refused.
    model = body.get("model")
    if model is None:
        model = DEFAULT_MODEL
    if not isinstance(model, str) or model not in MODELS:
        raise StudioError(400, f"Unknown model {_shown(model)}: use one of {', '.join(MODELS)}.")
    aspect_ratio = body.get("aspect_ratio")
    if aspect_ratio is None:
        aspect_ratio = DEFAULT_ASPECT_RATIO
    if not isinstance(aspect_ratio, str) or aspect_ratio not in ASPECT_RATIOS:
        raise StudioError(
            400, f"Unknown aspect_ratio {_shown(aspect_ratio)}: use one of {', '.join(ASPECT_RATIOS)}."
        )
    images = _image_fields(body)
    limit = MAX_INPUT_IMAGES[model]
    if len(images) > limit:
        raise StudioError(400, f"Too many input images ({len(images)}): {model} takes at most {limit}.")
    return StudioRequest(action, prompt, model, aspect_ratio, images)


def load_input_images(request: StudioRequest) -> list[Image.Image]:
    """Decode (or fetch) every input image, RGB or RGBA; a StudioError (400) names the field at fault."""
    return [_load(field, value) for field, value in request.images]


def _prompt(value: object) -> str:
    if value is None:
        raise StudioError(400, "The prompt is missing: describe the image you want.")
    if not isinstance(value, str):
        raise StudioError(400, "The prompt must be text.")
    if not value.strip():
        raise StudioError(400, "The prompt is empty: describe the image you want.")
    if len(value) > MAX_PROMPT_CHARS:
        raise StudioError(
            400, f"The prompt is too long ({len(value):,} characters); the limit is {MAX_PROMPT_CHARS:,}."
        )
    return value


def _image_fields(body: dict) -> tuple[tuple[str, str], ...]:
    found: list[tuple[int, str, str]] = []
    for field, value in body.items():
        match = _IMAGE_FIELD.fullmatch(field)
        if match is None or value is None:
            continue
        index = int(match.group(1) or 1)
        if match.group(1) is not None and not 2 <= index <= _HIGHEST_IMAGE_FIELD:
            # input_image_1 or input_image_9 would be silently dropped by the real engines: say so instead.
            raise StudioError(
                400,
                f"Unknown field {field}: input images are input_image, input_image_2 ... "
                f"input_image_{_HIGHEST_IMAGE_FIELD}.",
            )
        if not isinstance(value, str) or not value.strip():
            raise StudioError(400, f"{field} must be a data URL, base64 text or an http(s) URL of an image.")
        found.append((index, field, value))
    return tuple((field, value) for _, field, value in sorted(found))


def _load(field: str, value: str) -> Image.Image:
    try:
        if value.lstrip()[:8].lower().startswith(("http://", "https://")):
            data = _fetch(field, value.strip())
        else:
            data = decode_data_url(value, name=field)
        _refuse_oversized(field, data)
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


def _fetch(field: str, url: str) -> bytes:
    """Download an input image given by URL, with timeouts and the same size cap as a request body."""
    started = time.monotonic()
    chunks: list[bytes] = []
    size = 0
    try:
        headers = {"Accept": "image/*"}
        with requests.get(url, timeout=_FETCH_TIMEOUT, stream=True, headers=headers) as response:
            if response.status_code != 200:
                raise StudioError(400, f"{field}: the image URL answered HTTP {response.status_code}.")
            for chunk in response.iter_content(chunk_size=64 * 1024):
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise StudioError(400, f"{field}: the image at the URL is larger than 10 MiB.")
                if time.monotonic() - started > _FETCH_DEADLINE_S:
                    raise StudioError(400, f"{field}: the image URL took too long to download.")
                chunks.append(chunk)
    except requests.RequestException as exc:
        # The URL is not repeated: signed URLs carry credentials of their own.
        reason = exc.__class__.__name__
        raise StudioError(400, f"{field}: the image URL could not be fetched ({reason}).") from exc
    return b"".join(chunks)


def _shown(value: object) -> str:
    """A short, safe rendering of a client's value for an error message."""
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
