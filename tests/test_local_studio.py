"""The Local Studio over real HTTP: documented examples, auth, credits, limits, files, concurrency."""

from __future__ import annotations

import base64
import io
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jwt
import pytest
import requests
from PIL import Image

from lib.contract import ASPECT_RATIOS, MAX_BODY_BYTES, MAX_PROMPT_CHARS, aspect_ratio_value
from lib.local_studio import DEMO_API_KEY, LocalStudioHandle, StudioConfig, engines, start_local_studio
from lib.local_studio.runner import bind_socket

ROOT = Path(__file__).resolve().parents[1]
JWT_SECRET = "local-studio-test-secret-0123456789"
KLEIN = "flux-2-klein-9b"
TIMEOUT = 60


# ---------------------------------------------------------------- building blocks


def post(
    handle: LocalStudioHandle, body: dict, *, token: str | None = None, headers: dict | None = None
) -> requests.Response:
    """POST a JSON body with a bearer token (the handle's key unless another is given)."""
    all_headers = {"Authorization": f"Bearer {token or handle.api_key}", **(headers or {})}
    return requests.post(handle.endpoint, json=body, headers=all_headers, timeout=TIMEOUT)


def base_url(handle: LocalStudioHandle) -> str:
    """The server's root URL (without the API path)."""
    return handle.endpoint.split("/api/", 1)[0]


def balance(handle: LocalStudioHandle, token: str | None = None) -> int:
    """Credits left, asked the free way (an enhance_prompt request)."""
    response = post(handle, {"action": "enhance_prompt", "prompt": "a cat"}, token=token)
    assert response.status_code == 200, response.text
    return response.json()["credits_remaining"]


def download(url: str) -> Image.Image:
    """Fetch a result URL (without any token, like a signed URL) and decode it."""
    response = requests.get(url, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


def data_url(image: Image.Image, fmt: str = "PNG") -> str:
    """An image as a data: URL, the way the client sends input images."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return f"data:image/{fmt.lower()};base64,{base64.b64encode(buffer.getvalue()).decode()}"


def photo(samples_dir: Path, name: str = "coffee.jpg", max_side: int | None = None) -> Image.Image:
    """A sample photo as RGB, optionally shrunk so that its long side is max_side."""
    image = Image.open(samples_dir / name).convert("RGB")
    if max_side:
        image.thumbnail((max_side, max_side))
    return image


def error_of(response: requests.Response) -> dict:
    """The {"message", "type", "code"} of an error answer, after checking its shape and request id."""
    assert response.headers["X-Request-Id"].startswith("req_")
    error = response.json()["error"]
    assert error["code"] == response.status_code
    assert error["message"] and error["type"]
    return error


@pytest.fixture(scope="module")
def jwt_studio() -> Iterator[LocalStudioHandle]:
    """A server that also accepts HS256 JWTs signed with JWT_SECRET."""
    handle = start_local_studio(config=StudioConfig(jwt_secret=JWT_SECRET, starting_credits=100))
    yield handle
    handle.stop()


def session_token(sub: str, *, expires_in: float | None = 3600, secret: str = JWT_SECRET) -> str:
    """An HS256 JWT like a signed-in user's session token."""
    claims: dict = {"sub": sub, "iat": int(time.time())}
    if expires_in is not None:
        claims["exp"] = int(time.time() + expires_in)
    return jwt.encode(claims, secret, algorithm="HS256")


# ---------------------------------------------------------------- the documentation's examples


def test_healthz_answers_ok(local_studio: LocalStudioHandle) -> None:
    """GET /healthz says ok, with a request id."""
    response = requests.get(base_url(local_studio) + "/healthz", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["X-Request-Id"].startswith("req_")


def test_documented_generate_example(local_studio: LocalStudioHandle) -> None:
    """The documentation's generation body, verbatim, returns a downloadable 16:9 PNG and its price."""
    body = {
        "prompt": "A serene Japanese garden with cherry blossoms",
        "model": "flux-2-pro",
        "aspect_ratio": "16:9",
    }
    response = post(local_studio, body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["engine"] == "local-preview"
    assert result["model"] == "flux-2-pro"
    assert result["credits_used"] == 4
    assert result["request_id"] == response.headers["X-Request-Id"]
    image = download(result["image_url"])
    assert image.size == (result["width"], result["height"])
    assert abs(image.width / image.height - 16 / 9) < 0.03


def test_documented_enhance_example_is_free(local_studio: LocalStudioHandle) -> None:
    """The documentation's enhance_prompt body returns a longer prompt that keeps the words, for 0 credits."""
    before = balance(local_studio)
    response = post(local_studio, {"action": "enhance_prompt", "prompt": "a dog on a beach"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["engine"] == "local-enhancer"
    assert result["credits_used"] == 0
    assert result["credits_remaining"] == before
    text = result["enhanced_prompt"]
    assert len("a dog on a beach") < len(text) <= MAX_PROMPT_CHARS
    assert "dog" in text and "beach" in text


def test_edit_with_an_input_image(local_studio: LocalStudioHandle, samples_dir: Path) -> None:
    """With input_image a generation is an edit, at the default ratio's size and the model's price."""
    source = photo(samples_dir, "coffee.jpg")
    body = {"prompt": "make it warmer, golden hour", "model": KLEIN, "input_image": data_url(source, "JPEG")}
    response = post(local_studio, body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["engine"] == "local-edit"
    assert result["credits_used"] == 1
    assert download(result["image_url"]).size == engines.output_size(None)  # no ratio given: the default


def test_background_removal_returns_a_cutout_for_two_credits(
    local_studio: LocalStudioHandle, samples_dir: Path
) -> None:
    """'remove background' with an input image routes to background removal: a PNG with real transparency."""
    source = photo(samples_dir, "coffee.jpg")
    before = balance(local_studio)
    response = post(local_studio, {"prompt": "remove background", "input_image": data_url(source, "JPEG")})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["engine"] == "local-background-removal"
    assert result["credits_used"] == 2
    assert result["credits_remaining"] == before - 2
    cutout = download(result["image_url"])
    assert cutout.mode == "RGBA"
    assert cutout.size == source.size
    alpha = cutout.getchannel("A").histogram()
    pixels = cutout.width * cutout.height
    assert alpha[0] > pixels * 0.05, "some background should be fully transparent"
    assert alpha[255] > pixels * 0.05, "some subject should be fully opaque"


@pytest.mark.parametrize("aspect_ratio", ASPECT_RATIOS)
def test_each_aspect_ratio_gives_about_a_megapixel(
    local_studio: LocalStudioHandle, aspect_ratio: str
) -> None:
    """Every offered ratio renders at that orientation, about 1 MP, both sides multiples of 16."""
    body = {"prompt": "a lighthouse at dusk", "model": KLEIN, "aspect_ratio": aspect_ratio}
    response = post(local_studio, body)
    assert response.status_code == 200, response.text
    result = response.json()
    image = download(result["image_url"])
    width, height = image.size
    assert (width, height) == (result["width"], result["height"])
    assert width % 16 == 0 and height % 16 == 0
    assert 800_000 <= width * height <= 1_250_000
    target = aspect_ratio_value(aspect_ratio)
    assert abs(width / height - target) / target < 0.03


def test_absent_model_and_ratio_mean_pro_and_square(local_studio: LocalStudioHandle) -> None:
    """A body with only a prompt is a flux-2-pro 1:1 generation."""
    response = post(local_studio, {"prompt": "a bowl of ramen"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["model"] == "flux-2-pro"
    assert result["credits_used"] == 4
    assert result["width"] == result["height"]


def test_input_image_may_be_a_url(fresh_local_studio) -> None:
    """An input image given as an http URL (an earlier result, loopback opted in) is fetched and edited."""
    studio = fresh_local_studio(private_image_networks=("127.0.0.0/8",))
    first = post(studio, {"prompt": "a red barn", "model": KLEIN, "aspect_ratio": "4:3"}).json()
    body = {"prompt": "in winter", "model": KLEIN, "aspect_ratio": "4:3", "input_image": first["image_url"]}
    response = post(studio, body)
    assert response.status_code == 200, response.text
    assert response.json()["engine"] == "local-edit"
    assert (response.json()["width"], response.json()["height"]) == (first["width"], first["height"])


def test_input_image_may_be_bare_base64(local_studio: LocalStudioHandle, samples_dir: Path) -> None:
    """An input image given as bare base64 (no data: prefix) is accepted."""
    bare = data_url(photo(samples_dir, "chelsea.jpg", 200), "JPEG").split(",", 1)[1]
    response = post(local_studio, {"prompt": "as a watercolour", "model": KLEIN, "input_image": bare})
    assert response.status_code == 200, response.text


# ---------------------------------------------------------------- authentication


@pytest.mark.parametrize(
    ("case", "authorization"),
    [
        ("missing", None),
        ("empty bearer", "Bearer "),
        ("wrong scheme", f"Basic {DEMO_API_KEY}"),
        ("wrong sk key", "Bearer sk_live_not_a_real_key"),
        ("not an sk key", "Bearer abc123-plain-token"),
        ("JWT with the wrong secret", "Bearer " + session_token("eve", secret="x" * 40)),
        ("expired JWT", "Bearer " + session_token("alice", expires_in=-60)),
        ("unsigned JWT", "Bearer " + jwt.encode({"sub": "alice"}, None, algorithm="none")),
        ("JWT without exp", "Bearer " + jwt.encode({"sub": "alice"}, JWT_SECRET, algorithm="HS256")),
        (
            "JWT without sub",
            "Bearer " + jwt.encode({"exp": int(time.time()) + 3600}, JWT_SECRET, algorithm="HS256"),
        ),
    ],
)
def test_bad_tokens_get_401(jwt_studio: LocalStudioHandle, case: str, authorization: str | None) -> None:
    """Every kind of missing or invalid token is a 401 that points at the sk_ key and never echoes it."""
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = requests.post(jwt_studio.endpoint, json={"prompt": "a cat"}, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 401, case
    error = error_of(response)
    assert error["type"] == "authentication_error"
    assert "sk_" in error["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    token = (authorization or "").partition(" ")[2]
    if token:
        assert token not in response.text


def test_valid_jwt_is_accepted_with_a_ledger_per_user(jwt_studio: LocalStudioHandle) -> None:
    """A JWT signed with the server's secret works; credits are kept per `sub`, apart from the API key's."""
    alice, alice_again, bob = (
        session_token("alice"),
        session_token("alice", expires_in=7200),
        session_token("bob"),
    )
    start = balance(jwt_studio, bob)
    response = post(jwt_studio, {"prompt": "a kite", "model": KLEIN}, token=alice)
    assert response.status_code == 200, response.text
    assert response.json()["credits_remaining"] == start - 1
    assert balance(jwt_studio, alice_again) == start - 1  # another token of the same user: same account
    assert balance(jwt_studio, bob) == start
    assert balance(jwt_studio) == start  # the API key's own account


def test_jwt_is_refused_when_no_secret_is_configured(local_studio: LocalStudioHandle) -> None:
    """A server started without a JWT secret accepts only its sk_ keys."""
    response = post(local_studio, {"prompt": "a cat"}, token=session_token("alice"))
    assert response.status_code == 401


# ---------------------------------------------------------------- credits


def test_402_when_credits_run_out_changes_nothing(fresh_local_studio, samples_dir: Path) -> None:
    """A request the account can't pay gets 402 and leaves the balance as it was."""
    studio = fresh_local_studio(starting_credits=5)
    first = post(studio, {"prompt": "a fox", "model": "flux-2-pro"})
    assert first.json()["credits_remaining"] == 1
    refused = post(studio, {"prompt": "a fox", "model": "flux-2-pro"})
    assert refused.status_code == 402
    assert error_of(refused)["type"] == "insufficient_credits"
    assert balance(studio) == 1
    small = data_url(photo(samples_dir, "chelsea.jpg", 128), "JPEG")
    assert post(studio, {"prompt": "remove background", "input_image": small}).status_code == 402
    assert balance(studio) == 1
    last = post(studio, {"prompt": "a fox", "model": KLEIN})
    assert last.status_code == 200
    assert last.json()["credits_remaining"] == 0
    assert post(studio, {"prompt": "a fox", "model": KLEIN}).status_code == 402
    assert post(studio, {"action": "enhance_prompt", "prompt": "a fox"}).status_code == 200  # free stays free


def test_prices_follow_the_config(fresh_local_studio) -> None:
    """Generation prices come from the server's configuration."""
    studio = fresh_local_studio(starting_credits=50, model_prices={"flux-2-pro": 10, KLEIN: 3})
    assert post(studio, {"prompt": "a boat", "model": "flux-2-pro"}).json()["credits_used"] == 10
    assert post(studio, {"prompt": "a boat", "model": KLEIN}).json()["credits_remaining"] == 37


# ---------------------------------------------------------------- validation


def tiny_image_url(side: int) -> str:
    """A data URL of a plain square PNG of the given side."""
    return data_url(Image.new("RGB", (side, side), (200, 40, 40)))


@pytest.mark.parametrize(
    ("case", "body", "words"),
    [
        ("empty prompt", {"prompt": "", "model": KLEIN}, "empty"),
        ("blank prompt", {"prompt": "   \n", "model": KLEIN}, "empty"),
        ("missing prompt", {"model": KLEIN}, "missing"),
        ("prompt not text", {"prompt": 42, "model": KLEIN}, "text"),
        ("10,001 characters", {"prompt": "a" * (MAX_PROMPT_CHARS + 1), "model": KLEIN}, "10,000"),
        ("long enhance", {"action": "enhance_prompt", "prompt": "a" * (MAX_PROMPT_CHARS + 1)}, "10,000"),
        ("unknown model", {"prompt": "a cat", "model": "flux-3-ultra"}, "flux-2-pro"),
        ("unknown ratio", {"prompt": "a cat", "model": KLEIN, "aspect_ratio": "5:4"}, "16:9"),
        ("unknown action", {"action": "upscale", "prompt": "a cat"}, "enhance_prompt"),
        (
            "five images for klein",
            {
                "prompt": "blend",
                "model": KLEIN,
                **{f"input_image_{i}": "x" for i in range(2, 6)},
                "input_image": "x",
            },
            "at most 4",
        ),
        ("ninth image", {"prompt": "blend", "input_image_9": "x"}, "input_image_9"),
        (
            "undecodable image",
            {"prompt": "edit", "model": KLEIN, "input_image": "data:image/png;base64,aGVsbG8="},
            "input_image",
        ),
        (
            "not base64",
            {"prompt": "edit", "model": KLEIN, "input_image": "%%% not an image %%%"},
            "input_image",
        ),
        ("image not text", {"prompt": "edit", "model": KLEIN, "input_image": 7}, "input_image"),
    ],
)
def test_invalid_requests_get_400(local_studio: LocalStudioHandle, case: str, body: dict, words: str) -> None:
    """Each invalid field is a 400 whose message says what is wrong."""
    response = post(local_studio, body)
    assert response.status_code == 400, case
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert words in error["message"], error["message"]


def test_image_under_64_px_is_refused(local_studio: LocalStudioHandle) -> None:
    """A 40 x 40 input image is a 400 naming the 64 px minimum."""
    response = post(local_studio, {"prompt": "edit", "model": KLEIN, "input_image": tiny_image_url(40)})
    assert response.status_code == 400
    assert "64" in error_of(response)["message"]


def test_image_over_the_pixel_limit_is_refused(local_studio: LocalStudioHandle) -> None:
    """An input over 4,194,304 pixels is a 400 asking to downscale (the client downscales before sending)."""
    response = post(local_studio, {"prompt": "edit", "model": KLEIN, "input_image": tiny_image_url(2100)})
    assert response.status_code == 400
    assert "4,194,304" in error_of(response)["message"]


def test_image_url_that_fails_is_a_400(fresh_local_studio) -> None:
    """An input image URL answering 404 is the caller's problem: 400, naming the field and the status."""
    studio = fresh_local_studio(private_image_networks=("127.0.0.0/8",))
    url = base_url(studio) + "/files/does-not-exist.png"
    response = post(studio, {"prompt": "edit", "model": KLEIN, "input_image_2": url, "input_image": url})
    assert response.status_code == 400
    assert "input_image: the image URL answered HTTP 404" in error_of(response)["message"]


def test_prompt_of_exactly_10000_characters_is_accepted(local_studio: LocalStudioHandle) -> None:
    """The longest allowed prompt works."""
    prompt = ("a quiet harbour at dawn with fishing boats " * 300)[:MAX_PROMPT_CHARS]
    response = post(local_studio, {"prompt": prompt, "model": KLEIN})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("case", "raw", "words"),
    [
        ("not JSON", b"{prompt: a cat", "JSON"),
        ("not an object", b'["a cat"]', "object"),
        ("not UTF-8", b'{"prompt": "\xff\xfe"}', "JSON"),
    ],
)
def test_malformed_json_gets_400(local_studio: LocalStudioHandle, case: str, raw: bytes, words: str) -> None:
    """A body that is not a JSON object is a 400."""
    headers = {"Authorization": f"Bearer {local_studio.api_key}", "Content-Type": "application/json"}
    response = requests.post(local_studio.endpoint, data=raw, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 400, case
    assert words in error_of(response)["message"]


def test_invalid_requests_charge_nothing(fresh_local_studio) -> None:
    """Refused requests leave the balance untouched."""
    studio = fresh_local_studio(starting_credits=10)
    for body in ({"prompt": ""}, {"prompt": "a", "model": "nope"}, {"prompt": "a", "input_image": "bad"}):
        assert post(studio, body).status_code == 400
    assert balance(studio) == 10


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_over_10_mib_gets_413(fresh_local_studio, chunked: bool) -> None:
    """A body over 10 MiB is refused with 413, whether its length is declared or only counted."""
    studio = fresh_local_studio(starting_credits=10)
    raw = b'{"prompt": "a cat", "input_image": "' + b"A" * MAX_BODY_BYTES + b'"}'
    data = raw if not chunked else (raw[i : i + 65536] for i in range(0, len(raw), 65536))
    headers = {"Authorization": f"Bearer {studio.api_key}", "Content-Type": "application/json"}
    response = requests.post(studio.endpoint, data=data, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 413
    assert error_of(response)["type"] == "request_too_large"
    assert balance(studio) == 10


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_non_json_content_type_gets_415(local_studio: LocalStudioHandle, content_type: str | None) -> None:
    """Only application/json bodies are accepted."""
    headers = {"Authorization": f"Bearer {local_studio.api_key}"}
    if content_type:
        headers["Content-Type"] = content_type
    response = requests.post(
        local_studio.endpoint, data=b'{"prompt": "a cat"}', headers=headers, timeout=TIMEOUT
    )
    assert response.status_code == 415
    assert "application/json" in error_of(response)["message"]


def test_json_with_a_charset_is_accepted(local_studio: LocalStudioHandle) -> None:
    """'application/json; charset=utf-8' is JSON too."""
    headers = {
        "Authorization": f"Bearer {local_studio.api_key}",
        "Content-Type": "application/json; charset=utf-8",
    }
    body = '{"action": "enhance_prompt", "prompt": "un café à Paris"}'.encode()
    response = requests.post(local_studio.endpoint, data=body, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert "café" in response.json()["enhanced_prompt"]


def test_unknown_paths_and_methods_answer_json(local_studio: LocalStudioHandle) -> None:
    """404 and 405 use the same JSON error shape."""
    assert error_of(requests.get(base_url(local_studio) + "/nowhere", timeout=TIMEOUT))["code"] == 404
    response = requests.get(local_studio.endpoint, timeout=TIMEOUT)
    assert error_of(response)["code"] == 405
    assert response.headers["Allow"] == "POST"


# ---------------------------------------------------------------- idempotency


def test_repeated_idempotency_key_replays_and_charges_once(fresh_local_studio) -> None:
    """The same Idempotency-Key returns the first answer (same image, same request id) and charges once."""
    studio = fresh_local_studio(starting_credits=20)
    body = {"prompt": "a paper boat", "model": "flux-2-pro"}
    first = post(studio, body, headers={"Idempotency-Key": "order-1"})
    again = post(studio, body, headers={"Idempotency-Key": "order-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["X-Request-Id"] == first.headers["X-Request-Id"] == first.json()["request_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert balance(studio) == 16
    other = post(studio, body, headers={"Idempotency-Key": "order-2"})
    assert other.json()["image_url"] != first.json()["image_url"]
    assert balance(studio) == 12


def test_idempotency_key_reused_for_another_request_gets_422(fresh_local_studio) -> None:
    """Reusing a key with a different body is refused instead of replaying the wrong answer."""
    studio = fresh_local_studio(starting_credits=20)
    assert (
        post(studio, {"prompt": "a kite", "model": KLEIN}, headers={"Idempotency-Key": "k"}).status_code
        == 200
    )
    response = post(studio, {"prompt": "a plane", "model": KLEIN}, headers={"Idempotency-Key": "k"})
    assert response.status_code == 422
    assert "Idempotency-Key" in error_of(response)["message"]
    assert balance(studio) == 19


def test_idempotency_keys_belong_to_their_token(fresh_local_studio) -> None:
    """Two accounts using the same Idempotency-Key get their own results and their own charges."""
    studio = fresh_local_studio(api_keys=("sk_test_alpha", "sk_test_bravo"), starting_credits=10)
    body = {"prompt": "a lantern", "model": KLEIN}
    alpha = post(studio, body, token="sk_test_alpha", headers={"Idempotency-Key": "same"})
    bravo = post(studio, body, token="sk_test_bravo", headers={"Idempotency-Key": "same"})
    assert alpha.json()["image_url"] != bravo.json()["image_url"]
    assert balance(studio, "sk_test_alpha") == balance(studio, "sk_test_bravo") == 9


def test_failed_request_is_not_remembered_for_its_key(fresh_local_studio) -> None:
    """A 402 under a key does not stick: after the balance allows it, the same key succeeds."""
    studio = fresh_local_studio(starting_credits=1)
    headers = {"Idempotency-Key": "retry-me"}
    assert post(studio, {"prompt": "a moon", "model": "flux-2-pro"}, headers=headers).status_code == 402
    assert post(studio, {"prompt": "a moon", "model": "flux-2-pro"}, headers=headers).status_code == 402
    assert balance(studio) == 1


def test_overlong_idempotency_key_gets_400(local_studio: LocalStudioHandle) -> None:
    """Keys longer than 255 characters are refused."""
    response = post(local_studio, {"prompt": "a cat"}, headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 400


# ---------------------------------------------------------------- result files


def test_result_files_are_served_without_a_token(local_studio: LocalStudioHandle) -> None:
    """image_url serves the PNG to anyone holding the URL, cacheable, with a request id."""
    result = post(local_studio, {"prompt": "a teapot", "model": KLEIN}).json()
    response = requests.get(result["image_url"], timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert "max-age" in response.headers["Cache-Control"]
    assert response.headers["X-Request-Id"].startswith("req_")
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_unknown_file_is_404(local_studio: LocalStudioHandle) -> None:
    """An id the server never handed out is a JSON 404."""
    response = requests.get(
        base_url(local_studio) + "/files/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.png", timeout=TIMEOUT
    )
    assert response.status_code == 404
    assert error_of(response)["type"] == "not_found"


def test_oldest_files_are_evicted_beyond_the_size_limit(fresh_local_studio) -> None:
    """Past max_stored_bytes the oldest results go (404) while the newest stays fetchable."""
    studio = fresh_local_studio(starting_credits=10)
    first = post(studio, {"prompt": "a red square", "model": KLEIN}).json()
    size = len(requests.get(first["image_url"], timeout=TIMEOUT).content)
    # Room for about two results of that size: a third pushes the first out.
    small = fresh_local_studio(starting_credits=10, max_stored_bytes=int(size * 2.5))
    urls = [post(small, {"prompt": "a red square", "model": KLEIN}).json()["image_url"] for _ in range(3)]
    assert requests.get(urls[0], timeout=TIMEOUT).status_code == 404
    assert requests.get(urls[1], timeout=TIMEOUT).status_code == 200
    assert requests.get(urls[2], timeout=TIMEOUT).status_code == 200


# ---------------------------------------------------------------- concurrency and lifecycle


def test_concurrent_clients_keep_the_ledger_exact(fresh_local_studio, samples_dir: Path) -> None:
    """200 mixed requests from 8 threads, some repeating Idempotency-Keys: no 5xx, an exact ledger."""
    start = 100_000
    studio = fresh_local_studio(starting_credits=start)
    small = data_url(photo(samples_dir, "coffee.jpg", 160), "JPEG")
    kinds = [
        ({"prompt": "a red fox in snow", "model": KLEIN, "aspect_ratio": "3:2"}, 1),
        ({"action": "enhance_prompt", "prompt": "a dog on a beach"}, 0),
        ({"prompt": "make it warmer", "model": KLEIN, "input_image": small}, 1),
        ({"prompt": "make it look like film", "model": "flux-2-pro", "input_image": small}, 4),
        ({"prompt": "remove background", "input_image": small}, 2),
    ]
    weights = [1, 3, 3, 2, 2]  # previews render a megapixel: fewer of them keeps the test quick
    rng = random.Random(7)
    groups: list[list[tuple[dict, str | None]]] = []
    expected_charge = 0
    for index in range(120):
        body, price = rng.choices(kinds, weights)[0]
        body = {**body, "prompt": f"{body['prompt']} #{index}"}
        expected_charge += price
        if index < 40:  # each keyed request is sent 3 times back to back, so repeats often overlap
            groups.append([(body, f"key-{index}")] * 3)
        else:
            groups.append([(body, None)])
    rng.shuffle(groups)
    calls = [call for group in groups for call in group]
    assert len(calls) == 200

    local = threading.local()

    def send(call: tuple[dict, str | None]) -> tuple[str | None, int, dict]:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        body, key = call
        headers = {"Authorization": f"Bearer {studio.api_key}"}
        if key:
            headers["Idempotency-Key"] = key
        response = local.session.post(studio.endpoint, json=body, headers=headers, timeout=TIMEOUT)
        return key, response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, calls))

    assert Counter(status for _, status, _ in results) == {200: 200}
    answers_by_key: dict[str, list[dict]] = {}
    for key, _, answer in results:
        if key:
            answers_by_key.setdefault(key, []).append(answer)
    # Paid answers replay exactly; a free enhance_prompt is simply answered again (it keeps no replay entry).
    for first, *others in answers_by_key.values():
        for other in others:
            if first["credits_used"]:
                assert other == first
            else:
                assert other["enhanced_prompt"] == first["enhanced_prompt"]
    unique = [answer for key, _, answer in results if key is None] + [a[0] for a in answers_by_key.values()]
    charged = [answer["credits_remaining"] for answer in unique if answer["credits_used"] > 0]
    assert len(set(charged)) == len(charged), "two charges saw the same balance"
    assert len({answer["image_url"] for answer in unique if "image_url" in answer}) == len(
        [answer for answer in unique if "image_url" in answer]
    )
    assert balance(studio) == start - expected_charge


def test_engine_failure_is_a_500_that_charges_nothing(fresh_local_studio, monkeypatch) -> None:
    """An engine crash is a JSON 500 with a request id; no credits are taken and the server lives on."""

    def broken_renderer(*args: object) -> Image.Image:
        raise RuntimeError("renderer out of order")

    studio = fresh_local_studio(starting_credits=10)
    monkeypatch.setattr(engines, "render_preview", broken_renderer)
    response = post(studio, {"prompt": "a cat", "model": KLEIN})
    assert response.status_code == 500
    assert error_of(response)["type"] == "server_error"
    assert "renderer out of order" not in response.text  # internals stay in the server's log
    monkeypatch.undo()
    assert balance(studio) == 10
    assert post(studio, {"prompt": "a cat", "model": KLEIN}).status_code == 200


def test_config_refuses_keys_without_the_sk_prefix_and_hides_secrets() -> None:
    """StudioConfig only takes sk_ keys and prices for every model; neither it nor a handle prints a key."""
    with pytest.raises(ValueError, match="sk_"):
        StudioConfig(api_keys=("live_abc123",))
    with pytest.raises(ValueError, match="price"):
        StudioConfig(model_prices={"flux-2-pro": 4})
    config = StudioConfig(api_keys=("sk_live_very_secret",), jwt_secret="jwt-very-secret")
    assert "very_secret" not in repr(config) and "jwt-very-secret" not in repr(config)
    assert "very_secret" not in repr(
        LocalStudioHandle("http://127.0.0.1:1/api", "sk_live_very_secret", print)
    )


def test_several_servers_run_side_by_side_and_stop_cleanly() -> None:
    """Two servers in one process keep separate ledgers; stop() closes the port and may be called twice."""
    one = start_local_studio(config=StudioConfig(starting_credits=3))
    two = start_local_studio(config=StudioConfig(starting_credits=7))
    try:
        assert one.endpoint != two.endpoint
        assert (balance(one), balance(two)) == (3, 7)
    finally:
        one.stop()
        two.stop()
    one.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(base_url(one) + "/healthz", timeout=5)


def test_listening_socket_is_tcp_so_replies_are_not_delayed() -> None:
    """The socket is created as IPPROTO_TCP, which asyncio needs to set TCP_NODELAY on each connection."""
    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def _start_command_line_server(*flags: str) -> subprocess.Popen[str]:
    """`python -m lib.local_studio --port 0` with extra flags, its output readable line by line."""
    return subprocess.Popen(
        [sys.executable, "-m", "lib.local_studio", "--port", "0", *flags],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_command_line_server_serves_until_interrupted() -> None:
    """`python -m lib.local_studio` prints its endpoint, serves with its key and credits, stops on Ctrl+C."""
    secret_key = "sk_cli_test_secret_9f8e7d"
    process = _start_command_line_server("--credits", "7", "--key", secret_key)
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert first_line.startswith("Local Studio endpoint: http://127.0.0.1:"), first_line
        endpoint = first_line.split(": ", 1)[1].strip()
        cli = LocalStudioHandle(endpoint, secret_key, lambda: None)
        assert requests.get(base_url(cli) + "/healthz", timeout=TIMEOUT).json() == {"status": "ok"}
        assert (
            post(cli, {"prompt": "a cat"}, token=DEMO_API_KEY).status_code == 401
        )  # --key replaces the demo key
        assert post(cli, {"prompt": "a cat", "model": KLEIN}).json()["credits_remaining"] == 6
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert secret_key not in first_line + stdout + stderr


def test_command_line_flags_set_the_public_url_and_the_private_image_opt_in() -> None:
    """--public-url sets the result links' origin; --allow-private-image-urls lets a loopback URL in."""
    process = _start_command_line_server("--public-url", "https://studio.example.org",
                                         "--allow-private-image-urls")
    try:
        assert process.stdout is not None
        endpoint = process.stdout.readline().split(": ", 1)[1].strip()
        cli = LocalStudioHandle(endpoint, DEMO_API_KEY, lambda: None)
        image_url = post(cli, {"prompt": "a red barn", "model": KLEIN}).json()["image_url"]
        assert image_url.startswith("https://studio.example.org/files/")
        local_url = base_url(cli) + image_url.removeprefix("https://studio.example.org")
        edit = post(cli, {"prompt": "in winter", "model": KLEIN, "input_image": local_url})
        assert edit.status_code == 200, edit.text
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
