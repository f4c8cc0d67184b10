"""The API client over real HTTP: canned faults from a small local server, and the real Local Studio."""

from __future__ import annotations

import io
import logging
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from lib import __version__
from lib.client import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ImageResult,
    ImageStudioClient,
    ImageStudioError,
    InsufficientCreditsError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
)
from lib.contract import MAX_BODY_BYTES, MAX_PROMPT_CHARS, aspect_ratio_value
from tests.fault_server import SLOW_SECONDS, FaultServer

# Pillow warns of (and, where warnings are errors, raises) a possible bomb before the client can look.
BOMB_WARNING = "PIL.Image.DecompressionBombWarning"
# Distinctive, so a leak anywhere is easy to find.
FAKE_KEY = "sk_test_ZebraQuokka7MarmotNarwhal9"


@pytest.fixture
def faults(fault_server: FaultServer) -> FaultServer:
    """The fault server with its records and attempt counts cleared."""
    fault_server.reset()
    return fault_server


@pytest.fixture
def client_for(caplog: pytest.LogCaptureFixture) -> Iterator:
    """A factory of clients with the fake key; every log line (urllib3's too) is captured at DEBUG."""
    caplog.set_level(logging.DEBUG)
    made: list[ImageStudioClient] = []

    def make(endpoint: str, **options: object) -> ImageStudioClient:
        client = ImageStudioClient(FAKE_KEY, endpoint, **options)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def png_bytes(size: tuple[int, int] = (128, 96), mode: str = "RGB") -> bytes:
    """A small PNG made on the spot."""
    buffer = io.BytesIO()
    Image.new(mode, size, "teal").save(buffer, format="PNG")
    return buffer.getvalue()


def assert_no_leak(
    client: ImageStudioClient, caplog: pytest.LogCaptureFixture, faults: FaultServer, *errors: BaseException
) -> None:
    """The key is in no message, repr, log line or URL; it travelled only as a Bearer header."""
    texts = [repr(client), str(client), caplog.text]
    texts += [record.getMessage() for record in caplog.records]
    for error in errors:
        texts += [str(error), repr(error), str(error.args)]
    texts += [item.path for item in faults.received]
    for text in texts:
        assert FAKE_KEY not in text
    for item in faults.received:
        authorization = item.headers.get("Authorization")
        assert authorization in (None, f"Bearer {FAKE_KEY}")


def raise_from(client: ImageStudioClient, error_class: type[BaseException]) -> BaseException:
    """Call generate and return the error it raised, checking its exact class."""
    with pytest.raises(ImageStudioError) as caught:
        client.generate("a lighthouse at dusk")
    assert type(caught.value) is error_class
    assert caught.value.message.strip()
    return caught.value


def test_ok_returns_downloaded_checked_image(faults: FaultServer, client_for, caplog) -> None:
    """A good answer gives the URL as sent, the image bytes and the server's JSON."""
    client = client_for(faults.endpoint("ok"))
    result = client.generate("a lighthouse at dusk", model="flux-2-klein-9b", aspect_ratio="16:9")
    assert isinstance(result, ImageResult)
    assert result.image_url == f"{faults.base_url}/files/good.png"
    assert result.image_bytes == faults.png
    assert (result.width, result.height) == (160, 90)
    assert result.credits_used == 4 and result.credits_remaining == 96
    assert result.request_id and result.request_id.startswith("req_")
    assert not result.is_preview
    body = faults.posts()[0].json()
    assert body == {"prompt": "a lighthouse at dusk", "model": "flux-2-klein-9b", "aspect_ratio": "16:9"}
    assert_no_leak(client, caplog, faults)
    assert FAKE_KEY not in repr(result)
    assert any(record.name.startswith("urllib3") for record in caplog.records)  # the check saw urllib3


def test_every_call_sends_its_headers(faults: FaultServer, client_for) -> None:
    """The API call carries the Bearer key, JSON type, a versioned User-Agent and an Idempotency-Key."""
    client = client_for(faults.endpoint("ok"))
    client.generate("a red fox")
    client.generate("a red fox")
    first, second = faults.posts()
    assert first.headers["Authorization"] == f"Bearer {FAKE_KEY}"
    assert first.headers["Content-Type"] == "application/json"
    assert f"image-studio/{__version__}" in first.headers["User-Agent"]
    assert len(first.headers["Idempotency-Key"]) == 36
    assert first.headers["Idempotency-Key"] != second.headers["Idempotency-Key"]


def test_key_is_not_sent_to_another_host(faults: FaultServer, client_for, caplog) -> None:
    """An image_url on a different host is fetched without the Authorization header."""
    client = client_for(faults.endpoint("ok-other-host"))
    result = client.generate("a red fox")
    assert result.image_bytes == faults.png
    (download,) = faults.downloads()
    assert download.headers["Host"].startswith("localhost:")
    assert "Authorization" not in download.headers
    assert_no_leak(client, caplog, faults)


def test_key_is_sent_back_to_the_same_origin(faults: FaultServer, client_for) -> None:
    """A relative (same-origin) image_url is fetched with the key, as the endpoint's own files may need it."""
    client = client_for(faults.endpoint("ok-relative"))
    result = client.generate("a red fox")
    assert result.image_bytes == faults.png
    (download,) = faults.downloads()
    assert download.headers["Authorization"] == f"Bearer {FAKE_KEY}"


def test_data_url_result_is_decoded_without_a_download(faults: FaultServer, client_for) -> None:
    """A data: image_url is decoded directly."""
    client = client_for(faults.endpoint("ok-data-url"))
    result = client.generate("a red fox")
    assert result.image_bytes == faults.png
    assert not faults.downloads()


def test_enhance_prompt_returns_the_text(faults: FaultServer, client_for) -> None:
    """enhance_prompt sends the enhance action and returns the enhanced prompt."""
    client = client_for(faults.endpoint("ok"))
    assert client.enhance_prompt("a dog on a beach") == "a detailed prompt"
    assert faults.posts()[0].json() == {"action": "enhance_prompt", "prompt": "a dog on a beach"}


def test_401_says_check_the_key_and_never_echoes_it(faults: FaultServer, client_for, caplog) -> None:
    """401 is an AuthenticationError about the sk_ key; the server's echo of the key is redacted."""
    client = client_for(faults.endpoint("401"))
    error = raise_from(client, AuthenticationError)
    assert error.status_code == 401
    assert "sk_" in error.message and "invalid" in error.message
    assert error.request_id == "req_fault_401"
    assert len(faults.posts()) == 1
    assert_no_leak(client, caplog, faults, error)


def key_runs(key: str, length: int = 8) -> set[str]:
    """Every run of `length` consecutive characters of the key, lower-cased."""
    folded = key.lower()
    return {folded[start : start + length] for start in range(len(folded) - length + 1)}


def test_key_echoed_in_any_case_in_part_or_at_the_cut_is_redacted(
    faults: FaultServer, client_for, caplog
) -> None:
    """A 401 echoing the key upper-cased, in pieces, and whole where text is cut shows none of it."""
    client = client_for(faults.endpoint("401-padded"))
    error = raise_from(client, AuthenticationError)
    assert "The service said:" in error.message and "[redacted]" in error.message
    assert "x" * 100 in error.message  # the server's words are still there, only the key is gone
    shown = " ".join([str(error), repr(error), caplog.text]).lower()
    assert not [run for run in key_runs(FAKE_KEY) if run in shown]
    assert_no_leak(client, caplog, faults, error)


def test_402_says_top_up(faults: FaultServer, client_for, caplog) -> None:
    """402 is an InsufficientCreditsError pointing to the billing dashboard, not retried."""
    client = client_for(faults.endpoint("402"))
    error = raise_from(client, InsufficientCreditsError)
    assert error.status_code == 402
    assert "credits" in error.message and "billing dashboard" in error.message
    assert len(faults.posts()) == 1
    assert_no_leak(client, caplog, faults, error)


def test_429_with_long_retry_after_is_not_slept_on(faults: FaultServer, client_for, caplog) -> None:
    """A Retry-After longer than the client waits comes back at once as RateLimitError.retry_after."""
    client = client_for(faults.endpoint("429"))
    error = raise_from(client, RateLimitError)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 60
    assert "60 seconds" in error.message
    assert len(faults.posts()) == 1
    assert_no_leak(client, caplog, faults, error)


def test_429_then_200_is_retried_with_the_same_idempotency_key(faults: FaultServer, client_for) -> None:
    """A short Retry-After is honoured and the retry carries the same Idempotency-Key."""
    client = client_for(faults.endpoint("429-then-200"))
    result = client.generate("a red fox")
    assert result.image_bytes == faults.png
    first, second = faults.posts()
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.body == second.body


def test_429_with_unreadable_retry_after_gives_up_cleanly(faults: FaultServer, client_for, caplog) -> None:
    """An unreadable Retry-After neither crashes nor loops: retries run out and RateLimitError is raised."""
    client = client_for(faults.endpoint("429-unreadable"), max_retries=1)
    error = raise_from(client, RateLimitError)
    assert isinstance(error, RateLimitError)
    assert error.retry_after is None
    assert "wait a moment" in error.message
    assert len(faults.posts()) == 2
    assert_no_leak(client, caplog, faults, error)


def test_503_then_200_is_retried_with_the_same_key(faults: FaultServer, client_for, caplog) -> None:
    """A 503 is retried once with the same Idempotency-Key and the call succeeds."""
    client = client_for(faults.endpoint("503-then-200"))
    result = client.generate("a red fox")
    assert result.image_bytes == faults.png
    keys = [item.headers["Idempotency-Key"] for item in faults.posts()]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert_no_leak(client, caplog, faults)


def test_502_html_page_is_a_server_error_after_the_retries(faults: FaultServer, client_for, caplog) -> None:
    """A 502 with an HTML body is retried max_retries times, then a clean ServerError with the status."""
    client = client_for(faults.endpoint("502-html"))
    error = raise_from(client, ServerError)
    assert error.status_code == 502
    assert "502" in error.message and "<" not in error.message
    assert len(faults.posts()) == 3
    assert len({item.headers["Idempotency-Key"] for item in faults.posts()}) == 1
    assert_no_leak(client, caplog, faults, error)


@pytest.mark.parametrize("fault", ["500", "500-empty"])
def test_500_is_a_server_error_without_retry(faults: FaultServer, client_for, caplog, fault: str) -> None:
    """A 500 (JSON or empty body) is a ServerError, not retried (it is not on the safe list)."""
    client = client_for(faults.endpoint(fault))
    error = raise_from(client, ServerError)
    assert error.status_code == 500
    assert error.request_id == "req_fault_500"
    assert len(faults.posts()) == 1
    assert_no_leak(client, caplog, faults, error)


def test_400_carries_the_servers_reason(faults: FaultServer, client_for, caplog) -> None:
    """A 400 is an InvalidRequestError quoting the server's message, not retried."""
    client = client_for(faults.endpoint("400"))
    error = raise_from(client, InvalidRequestError)
    assert error.status_code == 400
    assert "Prompt is not allowed" in error.message
    assert len(faults.posts()) == 1
    assert_no_leak(client, caplog, faults, error)


def test_413_is_never_retried_even_with_retry_after(faults: FaultServer, client_for, caplog) -> None:
    """A 413 with Retry-After is an InvalidRequestError after exactly one attempt."""
    client = client_for(faults.endpoint("413"))
    error = raise_from(client, InvalidRequestError)
    assert error.status_code == 413
    assert "too large" in error.message
    assert len(faults.posts()) == 1
    assert_no_leak(client, caplog, faults, error)


def test_html_instead_of_json_is_a_clean_error(faults: FaultServer, client_for, caplog) -> None:
    """A 200 with an HTML page is an UnexpectedResponseError carrying the status, no JSONDecodeError."""
    client = client_for(faults.endpoint("html"))
    error = raise_from(client, UnexpectedResponseError)
    assert error.status_code == 200
    assert "JSON" in error.message
    assert error.__cause__ is None or not isinstance(error.__cause__, ValueError | KeyError)
    assert_no_leak(client, caplog, faults, error)


def test_json_without_image_url_is_a_clean_error(faults: FaultServer, client_for, caplog) -> None:
    """A reply with no image_url is an UnexpectedResponseError, not a KeyError."""
    client = client_for(faults.endpoint("no-image-url"))
    error = raise_from(client, UnexpectedResponseError)
    assert "image_url" in error.message
    assert_no_leak(client, caplog, faults, error)


def test_slow_answer_is_a_timeout_and_not_retried(faults: FaultServer, client_for, caplog) -> None:
    """A read timeout is an APITimeoutError (also a TimeoutError); the request is not sent again."""
    client = client_for(faults.endpoint("slow"), timeout=SLOW_SECONDS / 6)
    error = raise_from(client, APITimeoutError)
    assert isinstance(error, TimeoutError)
    assert "did not answer" in error.message
    assert len(faults.posts()) == 1
    assert_no_leak(client, caplog, faults, error)


def test_dropped_connection_is_a_connection_error(faults: FaultServer, client_for, caplog) -> None:
    """A server that hangs up without answering gives an APIConnectionError (also a ConnectionError)."""
    client = client_for(faults.endpoint("drop"))
    error = raise_from(client, APIConnectionError)
    assert isinstance(error, ConnectionError)
    assert len(faults.posts()) == 1  # the request reached the server: not re-sent
    assert_no_leak(client, caplog, faults, error)


def test_nothing_listening_is_a_connection_error(client_for, caplog) -> None:
    """A refused connection is retried, then an APIConnectionError naming the host, not the key."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = client_for(f"http://127.0.0.1:{port}/api/v1/image-studio", max_retries=1)
    with pytest.raises(APIConnectionError) as caught:
        client.generate("a red fox")
    assert f"127.0.0.1:{port}" in caught.value.message
    assert FAKE_KEY not in str(caught.value) + repr(caught.value) + caplog.text


def test_endless_image_stops_at_the_cap(faults: FaultServer, client_for, caplog) -> None:
    """An image that streams far past the cap is refused once the cap is passed; memory stays bounded."""
    client = client_for(faults.endpoint("endless-image"), max_image_bytes=2_000_000)
    error = raise_from(client, UnexpectedResponseError)
    assert "larger than" in error.message and "2 MB" in error.message
    assert_no_leak(client, caplog, faults, error)


def test_declared_huge_image_is_refused_before_reading(faults: FaultServer, client_for, caplog) -> None:
    """A Content-Length over the cap is refused without reading the body."""
    client = client_for(faults.endpoint("huge-declared-image"))
    error = raise_from(client, UnexpectedResponseError)
    assert "larger than" in error.message
    assert_no_leak(client, caplog, faults, error)


def peak_memory_growth(call: Callable[[], object]) -> int:
    """Bytes by which the process's peak resident memory rose above its start while `call` ran (Linux)."""

    def status_kib(field: str) -> int:
        lines = Path("/proc/self/status").read_text().splitlines()
        return int(next(line for line in lines if line.startswith(field)).split()[1])

    Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current size
    before = status_kib("VmRSS:")
    call()
    return (status_kib("VmHWM:") - before) * 1024


@pytest.mark.parametrize(
    "says",
    [
        pytest.param("13,000 × 13,000 pixels", marks=pytest.mark.filterwarnings(f"ignore::{BOMB_WARNING}")),
        pytest.param("Pillow's safety limit", marks=pytest.mark.filterwarnings(f"error::{BOMB_WARNING}")),
    ],
    ids=["bomb-warning-ignored", "bomb-warning-raised"],
)
def test_result_declaring_huge_pixels_is_refused_before_decoding(
    faults: FaultServer, client_for, caplog, says: str
) -> None:
    """A 118-byte PNG declaring 13000 x 13000 pixels is refused from its header; memory stays low."""
    client = client_for(faults.endpoint("huge-pixels-image"))
    caught: list[BaseException] = []
    growth = peak_memory_growth(lambda: caught.append(raise_from(client, UnexpectedResponseError)))
    error = caught[0]
    assert "too large to open safely" in error.message and says in error.message
    assert error.request_id and error.request_id.startswith("req_")
    # Decoding would allocate about 680 MB (Pillow keeps RGB as 4 bytes a pixel); reading a header, nothing.
    assert growth < 200 * 1024 * 1024
    assert_no_leak(client, caplog, faults, error)


def test_result_that_is_not_an_image_is_refused(faults: FaultServer, client_for, caplog) -> None:
    """A download that doesn't decode as an image is an UnexpectedResponseError."""
    client = client_for(faults.endpoint("not-an-image"))
    error = raise_from(client, UnexpectedResponseError)
    assert "not a readable image" in error.message
    assert_no_leak(client, caplog, faults, error)


def test_expired_image_link_says_so(faults: FaultServer, client_for, caplog) -> None:
    """A 404 on the image download is an UnexpectedResponseError that mentions the expired link."""
    client = client_for(faults.endpoint("expired-image"))
    error = raise_from(client, UnexpectedResponseError)
    assert error.status_code == 404
    assert "expired" in error.message
    assert_no_leak(client, caplog, faults, error)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda c: c.generate(""), "empty"),
        (lambda c: c.generate("   \n\t"), "empty"),
        (lambda c: c.generate("x" * (MAX_PROMPT_CHARS + 1)), "10,000"),
        (lambda c: c.generate("a fox", model="flux-3-ultra"), "Unknown model"),
        (lambda c: c.generate("a fox", aspect_ratio="5:1"), "Unknown aspect ratio"),
        (lambda c: c.generate("a fox", model="flux-2-klein-9b", input_images=[png_bytes()] * 5), "at most 4"),
        (lambda c: c.generate("a fox", input_images=[png_bytes()] * 9), "at most 8"),
        (lambda c: c.generate("a fox", input_images=[b"not a picture"]), "Input image 1 is not an image"),
        (lambda c: c.generate("a fox", input_images=[png_bytes((40, 40))]), "at least 64"),
        (lambda c: c.enhance_prompt(" "), "empty"),
        (lambda c: c.remove_background(png_bytes(), prompt="make it pink"), "ask for it"),
    ],
)
def test_invalid_requests_are_refused_before_sending(
    faults: FaultServer, client_for, caplog, call, words
) -> None:
    """Bad prompts, models, ratios, too many or unusable inputs: InvalidRequestError, nothing sent."""
    client = client_for(faults.endpoint("ok"))
    with pytest.raises(InvalidRequestError) as caught:
        call(client)
    assert type(caught.value) is InvalidRequestError
    assert words in caught.value.message
    assert caught.value.status_code is None
    assert not faults.received
    assert_no_leak(client, caplog, faults, caught.value)


def test_an_uploaded_file_is_named_in_refusals(faults: FaultServer, client_for) -> None:
    """An input with a .name (like an uploaded file) is named in the refusal."""

    class Upload(io.BytesIO):
        name = "holiday.png"

    client = client_for(faults.endpoint("ok"))
    with pytest.raises(InvalidRequestError, match=r"holiday\.png"):
        client.generate("a fox", input_images=[Upload(b"\x89PNG\r\n\x1a\n broken")])


def test_input_images_travel_as_data_url_fields(faults: FaultServer, client_for) -> None:
    """Inputs go as input_image, input_image_2, ... data URLs; a public https URL is passed through."""
    client = client_for(faults.endpoint("ok"))
    client.generate("blend these", input_images=[png_bytes(), png_bytes((96, 128)), "https://example.com/a.png"])
    body = faults.posts()[0].json()
    assert body["input_image"].startswith("data:image/png;base64,")
    assert body["input_image_2"].startswith("data:image/png;base64,")
    assert body["input_image_3"] == "https://example.com/a.png"


def test_eight_big_inputs_still_fit_one_body(faults: FaultServer, client_for) -> None:
    """Eight noisy 2-megapixel inputs are re-encoded to share the 10 MiB body limit."""
    noisy = io.BytesIO()
    Image.frombytes("RGB", (1600, 1200), os.urandom(1600 * 1200 * 3)).save(noisy, format="PNG")
    client = client_for(faults.endpoint("ok"))
    client.generate("blend these", input_images=[noisy.getvalue()] * 8)
    (post,) = faults.posts()
    assert len(post.body) <= MAX_BODY_BYTES


def test_remove_background_sends_an_edit_with_the_prompt(faults: FaultServer, client_for) -> None:
    """remove_background is a generate call with the photo and a prompt asking for the cut-out."""
    client = client_for(faults.endpoint("ok"))
    client.remove_background(png_bytes())
    body = faults.posts()[0].json()
    assert body["prompt"] == "remove background"
    assert body["model"] == "flux-2-pro"
    assert body["input_image"].startswith("data:image/")


@pytest.mark.parametrize("key", ["", "   ", "sk_has space", "sk_naïve", "sk_line\nbreak"])
def test_unusable_keys_are_refused_without_echo(faults: FaultServer, key: str) -> None:
    """Empty keys or keys no header could carry are an AuthenticationError that doesn't repeat them."""
    with pytest.raises(AuthenticationError) as caught:
        ImageStudioClient(key, faults.endpoint("ok"))
    if key.strip():
        assert key.strip() not in str(caught.value)
    assert not faults.received


@pytest.mark.parametrize(
    "endpoint",
    ["ftp://example.com/api", "not a url", f"https://user:{FAKE_KEY}@example.com/api",
     f"https://example.com/api?key={FAKE_KEY}"],
)
def test_bad_endpoints_are_refused_without_echo(endpoint: str) -> None:
    """An endpoint that isn't http(s), or that carries credentials, is refused and not repeated."""
    with pytest.raises(InvalidRequestError) as caught:
        ImageStudioClient(FAKE_KEY, endpoint)
    assert FAKE_KEY not in str(caught.value) + repr(caught.value)


def test_client_repr_and_context_manager(faults: FaultServer) -> None:
    """repr shows the endpoint but never the key; the client closes as a context manager."""
    with ImageStudioClient(FAKE_KEY, faults.endpoint("ok"), timeout=5) as client:
        assert faults.endpoint("ok") in repr(client)
        assert FAKE_KEY not in repr(client) and FAKE_KEY not in str(client)


# --- the real Local Studio ---------------------------------------------------------------------------


@pytest.fixture
def studio_client(local_studio) -> Iterator[ImageStudioClient]:
    """A client of the shared Local Studio."""
    with ImageStudioClient(local_studio.api_key, local_studio.endpoint, timeout=60) as client:
        yield client


@pytest.mark.parametrize("aspect_ratio", [None, "16:9", "9:21"])
def test_local_studio_renders_the_ratio(studio_client: ImageStudioClient, aspect_ratio) -> None:
    """The Local Studio answers generate with a preview PNG of the requested aspect ratio."""
    result = studio_client.generate("a lighthouse at dusk, orange sky", aspect_ratio=aspect_ratio)
    with Image.open(io.BytesIO(result.image_bytes)) as image:
        assert image.format == "PNG"
        ratio = image.width / image.height
    assert ratio == pytest.approx(aspect_ratio_value(aspect_ratio or "1:1"), rel=0.03)
    assert result.is_preview
    assert result.credits_used is not None and result.credits_used > 0
    assert result.credits_remaining is not None
    assert result.request_id


def test_local_studio_enhances_a_prompt_keeping_its_words(studio_client: ImageStudioClient) -> None:
    """enhance_prompt returns a longer prompt that keeps the words the user wrote."""
    enhanced = studio_client.enhance_prompt("a dog on a beach")
    assert len(enhanced) > len("a dog on a beach")
    for word in ("dog", "beach"):
        assert word in enhanced.lower()


def test_local_studio_edits_an_input_image(studio_client: ImageStudioClient, samples_dir) -> None:
    """An edit with a photo comes back at the chosen aspect ratio, as a generation does."""
    photo = (samples_dir / "coffee.jpg").read_bytes()
    result = studio_client.generate("make it warmer, golden hour", aspect_ratio="16:9", input_images=[photo])
    assert result.width > result.height
    assert abs(result.width / result.height - 16 / 9) < 0.02


def test_local_studio_removes_a_background(studio_client: ImageStudioClient, samples_dir) -> None:
    """remove_background returns a PNG with transparency, the size of the photo."""
    photo = (samples_dir / "chelsea.jpg").read_bytes()
    result = studio_client.remove_background(photo)
    with Image.open(io.BytesIO(result.image_bytes)) as image:
        assert image.format == "PNG"
        assert image.mode in ("RGBA", "LA")
        low, high = image.getchannel("A").getextrema()
    assert low < 128 <= high
    assert result.credits_used == 2


def test_local_studio_refuses_a_wrong_key(local_studio, caplog) -> None:
    """A key the Local Studio doesn't know is an AuthenticationError, with no trace of the key."""
    caplog.set_level(logging.DEBUG)
    with ImageStudioClient(FAKE_KEY, local_studio.endpoint) as client:
        with pytest.raises(AuthenticationError) as caught:
            client.generate("a red fox")
        assert caught.value.status_code == 401
        assert FAKE_KEY not in str(caught.value) + repr(caught.value) + repr(client) + caplog.text


def test_local_studio_out_of_credits(fresh_local_studio) -> None:
    """A Local Studio with no credits left answers 402: InsufficientCreditsError."""
    studio = fresh_local_studio(starting_credits=0)
    client = ImageStudioClient(studio.api_key, studio.endpoint)
    with client, pytest.raises(InsufficientCreditsError):
        client.generate("a red fox")

