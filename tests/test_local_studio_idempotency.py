"""Idempotency-Key answers are kept per account, bounded in number and age; free calls keep none."""

from __future__ import annotations

import requests

from lib.local_studio import LocalStudioHandle, StudioConfig
from lib.local_studio.ledger import IdempotencyCache, StoredResponse
from lib.local_studio.service import Studio

KLEIN = "flux-2-klein-9b"
TIMEOUT = 60
ALPHA, BRAVO = "sk_test_alpha", "sk_test_bravo"


def post(studio: LocalStudioHandle, body: dict, token: str, key: str | None = None) -> requests.Response:
    """POST a JSON body with a token and, optionally, an Idempotency-Key."""
    headers = {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key else {})}
    return requests.post(studio.endpoint, json=body, headers=headers, timeout=TIMEOUT)


def balance(studio: LocalStudioHandle, token: str) -> int:
    """Credits left, asked the free way."""
    return post(studio, {"action": "enhance_prompt", "prompt": "a cat"}, token).json()["credits_remaining"]


def test_one_accounts_traffic_never_evicts_anothers_answer(fresh_local_studio) -> None:
    """Bravo's keyed calls, paid and free, far past the bound, leave Alpha's retry a replay charged once."""
    studio = fresh_local_studio(api_keys=(ALPHA, BRAVO), starting_credits=100, idempotency_keys_per_account=3)
    order = {"prompt": "a lantern", "model": KLEIN}
    first = post(studio, order, ALPHA, "alpha-order")
    for index in range(5):
        assert post(studio, {"prompt": f"a boat {index}", "model": KLEIN}, BRAVO, f"bravo-{index}").ok
    for index in range(50):
        assert post(
            studio, {"action": "enhance_prompt", "prompt": f"a dog {index}"}, BRAVO, f"free-{index}"
        ).ok
    retry = post(studio, order, ALPHA, "alpha-order")
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert retry.json() == first.json()
    assert balance(studio, ALPHA) == 99


def test_the_bound_applies_to_each_account_on_its_own(fresh_local_studio) -> None:
    """An account past its own bound forgets its own oldest answer, so that key is answered afresh."""
    studio = fresh_local_studio(api_keys=(ALPHA, BRAVO), starting_credits=100, idempotency_keys_per_account=3)
    bravo_first = post(studio, {"prompt": "a kite", "model": KLEIN}, BRAVO, "bravo-0")
    for index in range(4):
        assert post(studio, {"prompt": f"a boat {index}", "model": KLEIN}, ALPHA, f"alpha-{index}").ok
    assert balance(studio, ALPHA) == 96
    again = post(studio, {"prompt": "a boat 0", "model": KLEIN}, ALPHA, "alpha-0")
    assert again.headers.get("Idempotent-Replayed") is None  # the fourth key pushed the first out
    assert balance(studio, ALPHA) == 95
    assert post(studio, {"prompt": "a kite", "model": KLEIN}, BRAVO, "bravo-0").json() == bravo_first.json()
    assert balance(studio, BRAVO) == 99


def test_10001_free_keyed_calls_keep_no_replay_entries() -> None:
    """10,001 keyed enhance_prompt calls from one key keep no replay entry and leave another key's answer."""
    studio = Studio(StudioConfig(api_keys=(ALPHA, BRAVO), public_base_url="http://127.0.0.1:9"))
    paid = studio.handle(
        "bravo",
        b'{"prompt": "a kite", "model": "flux-2-klein-9b"}',
        request_id="req_1",
        idempotency_key="bravo-order",
    )
    for index in range(10_001):
        body = b'{"action": "enhance_prompt", "prompt": "a dog %d"}' % index
        studio.handle("alpha", body, request_id=f"req_a{index}", idempotency_key=f"free-{index}")
    assert len(studio.idempotency) == 1
    replay = studio.handle(
        "bravo",
        b'{"prompt": "a kite", "model": "flux-2-klein-9b"}',
        request_id="req_2",
        idempotency_key="bravo-order",
    )
    assert replay.replayed and replay.body == paid.body
    assert studio.ledger.balance("bravo") == studio.config.starting_credits - 1


def test_memory_is_bounded_per_account() -> None:
    """Ten thousand answers from one account keep only its newest few; another account's answer stays."""
    cache = IdempotencyCache(max_per_account=100)
    cache.put("bravo", "order", StoredResponse("f", {"image_url": "b"}, "req_b"))
    for index in range(10_001):
        cache.put("alpha", f"key-{index}", StoredResponse("f", {"n": index}, f"req_{index}"))
    assert cache.count("alpha") == 100
    assert cache.get("alpha", "key-10000") is not None and cache.get("alpha", "key-0") is None
    assert cache.get("bravo", "order") is not None
    assert len(cache) == 101


def test_answers_are_forgotten_after_their_age() -> None:
    """Past max_age_s an answer is gone, and an account with nothing left takes no room at all."""
    now = [1000.0]
    cache = IdempotencyCache(max_per_account=10, max_age_s=60, clock=lambda: now[0])
    cache.put("alpha", "old", StoredResponse("f", {}, "req_1"))
    now[0] += 30
    cache.put("alpha", "new", StoredResponse("f", {}, "req_2"))
    now[0] += 31
    assert cache.get("alpha", "old") is None
    assert cache.get("alpha", "new") is not None
    now[0] += 30
    assert cache.get("alpha", "new") is None
    assert len(cache) == 0 and cache.count("alpha") == 0
