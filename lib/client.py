"""The one client of the Image Studio API: checks requests, retries what is safe, fetches results."""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests
from PIL import Image
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError, ReadTimeoutError, ResponseError
from urllib3.util.retry import Retry

from lib import __version__
from lib.contract import (
    ASPECT_RATIOS,
    DEFAULT_ENDPOINT,
    DEFAULT_MODEL,
    MAX_BODY_BYTES,
    MAX_RESULT_PIXELS,
    asks_for_background_removal,
    input_count_problem,
    input_image_field,
    model_problem,
    prompt_problem,
)
from lib.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ImageStudioError,
    InsufficientCreditsError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    error_from_response,
    request_id_from,
)
from lib.images import ImageInputError, decode_data_url, input_image_budget, prepare_input_image, to_data_url

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "ImageResult",
    "ImageStudioClient",
    "ImageStudioError",
    "InsufficientCreditsError",
    "InvalidRequestError",
    "RateLimitError",
    "ServerError",
    "UnexpectedResponseError",
]

logger = logging.getLogger(__name__)

USER_AGENT = f"image-studio/{__version__} (python-requests/{requests.__version__})"
CONNECT_TIMEOUT_S = 10.0
# A Retry-After longer than this is handed to the caller (RateLimitError.retry_after) instead of slept on.
MAX_RETRY_AFTER_S = 20.0
RETRY_STATUSES = frozenset({429, 502, 503, 504})
_CHUNK_BYTES = 128 * 1024
_MAX_ERROR_BODY_BYTES = 1024 * 1024
_BROKEN_BODY = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)


class _HasBytes(Protocol):
    def getvalue(self) -> bytes: ...


# bytes of an image; a file-like with getvalue() (e.g. an uploaded file; its .name is used in messages);
# a data: URL; or a public https:// URL, which is passed through as is.
ImageInput = bytes | bytearray | memoryview | str | _HasBytes


@dataclass(frozen=True, repr=False)
class ImageResult:
    """A finished image: the URL the server gave, the downloaded and checked bytes, and the server's JSON."""

    image_url: str
    image_bytes: bytes
    response: dict[str, Any]
    header_request_id: str | None = field(default=None, compare=False)

    @property
    def credits_used(self) -> int | None:
        """Credits this call consumed, when the server said."""
        return _as_int(self.response.get("credits_used"))

    @property
    def credits_remaining(self) -> int | None:
        """Credits left in the organisation, when the server said."""
        return _as_int(self.response.get("credits_remaining"))

    @property
    def request_id(self) -> str | None:
        """The server's id for this request, for support."""
        return _request_id(self.response, self.header_request_id)

    @property
    def is_preview(self) -> bool:
        """True when the image came from the Local Studio's offline preview engines, not the real API."""
        return str(self.response.get("engine") or "").startswith("local")

    @property
    def width(self) -> int:
        """Width of the image in pixels."""
        return self._size()[0]

    @property
    def height(self) -> int:
        """Height of the image in pixels."""
        return self._size()[1]

    def _size(self) -> tuple[int, int]:
        with Image.open(io.BytesIO(self.image_bytes)) as image:
            return image.size

    def __repr__(self) -> str:
        url = self.image_url if len(self.image_url) <= 80 else self.image_url[:77] + "..."
        return f"ImageResult(image_url={url!r}, image_bytes=<{len(self.image_bytes)} bytes>)"


class _SafeRetry(Retry):
    """urllib3 Retry that never sleeps on a long Retry-After and only retries RETRY_STATUSES."""

    # Stock Retry also retries 413 when it carries Retry-After; the contract forbids that.
    RETRY_AFTER_STATUS_CODES = frozenset({429, 503})

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        """Retry only the statuses the contract lists."""
        return status_code in RETRY_STATUSES and super().is_retry(method, status_code, has_retry_after)

    def get_retry_after(self, response: Any) -> float | None:
        """A Retry-After we can't read counts as absent rather than crashing the call."""
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        """Give up at once (returning the answer to the caller) when asked to wait longer than we would."""
        if response is not None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > MAX_RETRY_AFTER_S:
                raise MaxRetryError(_pool, url, ResponseError(f"Retry-After of {wait:.0f} s is too long"))
        return super().increment(method, url, response, error, _pool, _stacktrace)


class ImageStudioClient:
    """A client of the Image Studio API; the key travels only in the Authorization header."""

    def __init__(
        self,
        api_key: str,
        endpoint: str = DEFAULT_ENDPOINT,
        timeout: float = 120.0,
        *,
        max_image_bytes: int = 50_000_000,
        max_retries: int = 2,
    ) -> None:
        self._api_key = _checked_key(api_key)
        self.endpoint = _checked_endpoint(endpoint, self._api_key)
        self.timeout = float(timeout)
        if not self.timeout > 0:
            raise InvalidRequestError("The timeout must be a positive number of seconds.")
        self.max_image_bytes = int(max_image_bytes)
        self.max_retries = int(max_retries)
        self._timeouts = (min(CONNECT_TIMEOUT_S, self.timeout), self.timeout)
        self._origin = _origin(self.endpoint)
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": USER_AGENT})
        retry = _SafeRetry(
            total=self.max_retries,
            connect=self.max_retries,
            read=False,  # a request that reached the server is not re-sent because the answer was slow
            status=self.max_retries,
            other=0,
            allowed_methods=frozenset({"GET", "POST"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=0.5,
            backoff_max=8.0,
            respect_retry_after_header=True,
            raise_on_status=False,
            raise_on_redirect=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    def generate(
        self,
        prompt: str,
        model: str = DEFAULT_MODEL,
        aspect_ratio: str | None = None,
        input_images: Sequence[ImageInput] | None = None,
    ) -> ImageResult:
        """Generate an image (an edit when input_images are given); returns it downloaded and checked."""
        body: dict[str, Any] = {"prompt": _checked_prompt(prompt), "model": _checked_model(model)}
        if aspect_ratio is not None:
            body["aspect_ratio"] = _checked_aspect_ratio(aspect_ratio)
        body.update(_input_image_fields(list(input_images or []), model))
        payload, header_request_id = self._post(body)
        request_id = _request_id(payload, header_request_id)
        image_url = payload.get("image_url")
        if not isinstance(image_url, str) or not image_url.strip():
            raise UnexpectedResponseError(
                "The image service answered without an image (its reply has no image_url).",
                status_code=200,
                request_id=request_id,
            )
        image_bytes = self._download(image_url, request_id)
        return ImageResult(image_url, image_bytes, payload, header_request_id)

    def enhance_prompt(self, prompt: str) -> str:
        """A detailed rewrite of a short prompt (free: uses no credits)."""
        body = {"action": "enhance_prompt", "prompt": _checked_prompt(prompt)}
        payload, header_request_id = self._post(body)
        text = payload.get("enhanced_prompt", payload.get("prompt"))
        if not isinstance(text, str) or not text.strip():
            raise UnexpectedResponseError(
                "The image service answered without an enhanced prompt.",
                status_code=200,
                request_id=_request_id(payload, header_request_id),
            )
        return text

    def remove_background(self, image: ImageInput, prompt: str = "remove background") -> ImageResult:
        """Cut the subject out of a photo: a PNG with a transparent background (flat 2 credits)."""
        if not asks_for_background_removal(prompt):
            raise InvalidRequestError(
                "The prompt for background removal must ask for it, e.g. \"remove background\"."
            )
        return self.generate(prompt, input_images=[image])

    def copy(self) -> ImageStudioClient:
        """A new client with the same key and settings and its own connections (one per thread)."""
        # requests.Session is not documented as thread-safe: work run in parallel gets a client each.
        return ImageStudioClient(self._api_key, self.endpoint, self.timeout,
                                 max_image_bytes=self.max_image_bytes, max_retries=self.max_retries)

    def close(self) -> None:
        """Close the client's connections."""
        self._session.close()

    def __enter__(self) -> ImageStudioClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ImageStudioClient(endpoint={self.endpoint!r}, timeout={self.timeout!r})"

    def _post(self, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """POST one logical request (retried under one Idempotency-Key); the JSON object it answered."""
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(data) > MAX_BODY_BYTES:
            raise InvalidRequestError(
                "The request is too large to send (over 10 MiB). Use fewer or smaller input images."
            )
        idempotency_key = str(uuid.uuid4())
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": idempotency_key,
        }
        logger.debug("POST %s (%d bytes, Idempotency-Key %s)", self.endpoint, len(data), idempotency_key)
        try:
            with self._session.post(
                self.endpoint, data=data, headers=headers, timeout=self._timeouts, stream=True
            ) as response:
                logger.debug("POST %s answered HTTP %d", self.endpoint, response.status_code)
                header_request_id = request_id_from(response.headers)
                self._raise_for_status(response)
                # A data: URL result travels inside the JSON, so allow for the image plus base64 growth.
                cap = self.max_image_bytes * 4 // 3 + _MAX_ERROR_BODY_BYTES
                raw = self._read_capped(response, cap, "reply")
        except requests.RequestException as exc:
            raise self._translate(exc) from exc
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict):
            raise UnexpectedResponseError(
                f"The image service sent a reply that isn't valid JSON (HTTP {response.status_code}).",
                status_code=response.status_code,
                request_id=header_request_id,
            )
        return payload, header_request_id

    def _download(self, image_url: str, request_id: str | None) -> bytes:
        """Fetch the result at once (URLs expire), capped in size, and check that it is an image."""
        if image_url.strip()[:5].lower() == "data:":
            try:
                raw = decode_data_url(image_url, name="The result image")
            except ImageInputError as exc:
                raise UnexpectedResponseError(str(exc), request_id=request_id) from exc
            if len(raw) > self.max_image_bytes:
                raise self._too_big(request_id)
        else:
            url = urljoin(self.endpoint, image_url.strip())
            if urlsplit(url).scheme not in ("http", "https"):
                raise UnexpectedResponseError(
                    "The image service gave an image address that can't be downloaded.", request_id=request_id
                )
            headers = {"Accept": "image/*"}
            # The key goes only back to the endpoint's own origin, never to a storage host or CDN.
            if _origin(url) == self._origin:
                headers["Authorization"] = f"Bearer {self._api_key}"
            logger.debug("GET result image (key sent: %s)", "Authorization" in headers)
            try:
                with self._session.get(url, headers=headers, timeout=self._timeouts, stream=True) as response:
                    if response.status_code >= 300:
                        raise _download_error(response.status_code, request_id)
                    raw = self._read_capped(response, self.max_image_bytes, "image", request_id=request_id)
            except requests.RequestException as exc:
                raise self._translate(exc) from exc
        _check_image(raw, request_id)
        return raw

    def _raise_for_status(self, response: requests.Response) -> None:
        """Turn any non-2xx answer, whatever its body, into the matching ImageStudioError."""
        if 200 <= response.status_code < 300:
            return
        body = self._read_capped(response, _MAX_ERROR_BODY_BYTES, "error", truncate=True)
        if response.status_code < 400:
            raise UnexpectedResponseError(
                f"The image service gave an unexpected answer (HTTP {response.status_code}).",
                status_code=response.status_code,
                request_id=request_id_from(response.headers),
            )
        raise error_from_response(response.status_code, body, response.headers, redact=self._api_key)

    def _read_capped(
        self,
        response: requests.Response,
        cap: int,
        what: str,
        *,
        truncate: bool = False,
        request_id: str | None = None,
    ) -> bytes:
        """Read a streamed body, stopping past `cap` bytes or the read timeout: memory stays bounded."""
        request_id = request_id or request_id_from(response.headers)
        declared = response.headers.get("Content-Length", "")
        if not truncate and declared.isdigit() and int(declared) > cap:
            raise self._too_big(request_id, what)
        deadline = time.monotonic() + self.timeout
        chunks: list[bytes] = []
        total = 0
        for chunk in response.iter_content(_CHUNK_BYTES):
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                if truncate:
                    break
                raise self._too_big(request_id, what)
            if time.monotonic() > deadline:
                raise APITimeoutError(
                    f"The image service took longer than {self.timeout:.0f} seconds to send its {what}.",
                    request_id=request_id,
                )
        return b"".join(chunks)[: cap if truncate else None]

    def _too_big(self, request_id: str | None, what: str = "image") -> UnexpectedResponseError:
        limit_mb = self.max_image_bytes / 1_000_000
        return UnexpectedResponseError(
            f"The image service sent a {what} larger than the {limit_mb:,.0f} MB limit, so it was not kept.",
            request_id=request_id,
        )

    def _translate(self, exc: requests.RequestException) -> ImageStudioError:
        """A requests failure in plain words (it never carries the key: that is only ever in a header)."""
        host = urlsplit(self.endpoint).netloc
        if isinstance(exc, requests.ConnectTimeout):
            return APIConnectionError(
                f"Could not connect to the image service at {host} within {self._timeouts[0]:.0f} seconds. "
                "Check the endpoint and your connection."
            )
        reason = exc.args[0] if exc.args else None
        if isinstance(exc, requests.ReadTimeout) or isinstance(reason, ReadTimeoutError):
            return APITimeoutError(
                f"The image service did not answer within {self.timeout:.0f} seconds. "
                "Please try again, perhaps with the faster model."
            )
        if isinstance(exc, requests.exceptions.SSLError):
            return APIConnectionError(
                f"A secure connection to {host} could not be made (certificate or TLS problem)."
            )
        if isinstance(exc, _BROKEN_BODY):
            return APIConnectionError("The connection broke while the image service's answer was arriving.")
        if isinstance(exc, requests.exceptions.RetryError):
            return ServerError("The image service kept failing; please try again in a minute.")
        return APIConnectionError(
            f"Could not reach the image service at {host}. Check the endpoint and your connection."
        )


def _checked_key(api_key: str) -> str:
    key = api_key.strip() if isinstance(api_key, str) else ""
    if not key:
        raise AuthenticationError("No API key was given. Paste your Image Studio API key (it starts sk_).")
    # Anything else could not travel in a header, and requests would echo the header value in its error.
    if not key.isascii() or not key.isprintable() or any(char.isspace() for char in key):
        raise AuthenticationError(
            "The API key contains characters a key can't have (spaces or special characters). "
            "Copy it again from the dashboard."
        )
    return key


def _checked_endpoint(endpoint: str, api_key: str) -> str:
    parts = urlsplit(endpoint.strip() if isinstance(endpoint, str) else "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequestError("The endpoint must be a full http:// or https:// address.")
    if parts.username or parts.password or api_key in endpoint:
        raise InvalidRequestError(
            "The endpoint address must not contain the key or a password; the key goes in the API key field."
        )
    return endpoint.strip()


def _checked_prompt(prompt: str) -> str:
    if problem := prompt_problem(prompt):
        raise InvalidRequestError(problem)
    return prompt


def _checked_model(model: str) -> str:
    if problem := model_problem(model):
        raise InvalidRequestError(problem)
    return model


def _checked_aspect_ratio(aspect_ratio: str) -> str:
    if aspect_ratio not in ASPECT_RATIOS:
        raise InvalidRequestError(
            f"Unknown aspect ratio {aspect_ratio!r}. Choose one of: {', '.join(ASPECT_RATIOS)}."
        )
    return aspect_ratio


def _input_image_fields(images: list[ImageInput], model: str) -> dict[str, str]:
    """Body fields input_image, input_image_2, ... as data URLs, each checked and shrunk to fit."""
    if problem := input_count_problem(model, len(images)):
        raise InvalidRequestError(problem)
    budget = input_image_budget(len(images))
    fields: dict[str, str] = {}
    for index, image in enumerate(images):
        name = str(getattr(image, "name", "") or f"Input image {index + 1}")
        fields[input_image_field(index)] = _input_image_value(image, name, budget)
    return fields


def _input_image_value(image: ImageInput, name: str, budget: int) -> str:
    if isinstance(image, str):
        text = image.strip()
        if text.lower().startswith("https://"):
            return text  # a public URL is passed through as the contract allows
        try:
            data = decode_data_url(text, name=name)
        except ImageInputError as exc:
            raise InvalidRequestError(str(exc)) from exc
    elif isinstance(image, bytes | bytearray | memoryview):
        data = bytes(image)
    elif hasattr(image, "getvalue"):
        data = bytes(image.getvalue())
    else:
        raise InvalidRequestError(f"{name} is not image data (expected bytes or an uploaded file).")
    try:
        encoded, mime = prepare_input_image(data, name=name, max_bytes=budget)
    except ImageInputError as exc:
        raise InvalidRequestError(str(exc)) from exc
    except (OSError, ValueError) as exc:  # an encoder failing on an odd file: still the caller's input
        raise InvalidRequestError(f"{name} could not be prepared for sending.") from exc
    return to_data_url(encoded, mime)


def _check_image(raw: bytes, request_id: str | None) -> None:
    """Check a result from its header and chunks without decoding its pixels: it may be a bomb."""
    try:
        with Image.open(io.BytesIO(raw)) as image:
            width, height = image.size
            if width * height <= MAX_RESULT_PIXELS:
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own, larger limit (or its warning, when warnings are errors) fired before ours could.
        raise _too_many_pixels("over Pillow's safety limit", request_id) from exc
    except Exception as exc:  # Pillow reports broken files with many exception types
        raise UnexpectedResponseError(
            "The image service's result is not a readable image.", request_id=request_id
        ) from exc
    if width * height > MAX_RESULT_PIXELS:
        raise _too_many_pixels(f"{width:,} × {height:,} pixels", request_id)


def _too_many_pixels(size: str, request_id: str | None) -> UnexpectedResponseError:
    limit_mp = MAX_RESULT_PIXELS / 1_000_000
    return UnexpectedResponseError(
        f"The image service sent an image too large to open safely ({size}; the limit is "
        f"{limit_mp:.1f} megapixels), so it was not kept.",
        request_id=request_id,
    )


def _download_error(status_code: int, request_id: str | None) -> ImageStudioError:
    if status_code == 429:
        return RateLimitError(
            "Too many requests while fetching the image. Please wait a moment and try again.",
            request_id=request_id,
        )
    if status_code >= 500:
        return ServerError(
            f"The finished image could not be fetched: the server had trouble (HTTP {status_code}).",
            status_code=status_code,
            request_id=request_id,
        )
    return UnexpectedResponseError(
        f"The finished image could not be fetched (HTTP {status_code}); its link may have expired. "
        "Please generate it again.",
        status_code=status_code,
        request_id=request_id,
    )


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def _request_id(payload: dict[str, Any], header_request_id: str | None) -> str | None:
    """The request id from the JSON answer, else from its X-Request-Id header."""
    value = payload.get("request_id")
    return value if isinstance(value, str) and value else header_request_id


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None
