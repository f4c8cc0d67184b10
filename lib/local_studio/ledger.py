"""Credits per account and the Idempotency-Key memory, both safe to use from many threads at once."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class InsufficientCredits(Exception):
    """A charge the account can't pay; nothing was taken."""

    def __init__(self, balance: int, needed: int) -> None:
        super().__init__(f"needs {needed} credits, has {balance}")
        self.balance = balance
        self.needed = needed


class CreditLedger:
    """Balances per account, each starting at the same amount the first time the account is seen."""

    def __init__(self, starting_credits: int) -> None:
        self._starting_credits = starting_credits
        self._balances: dict[str, int] = {}
        self._lock = threading.Lock()

    def balance(self, account: str) -> int:
        """Credits the account has now."""
        with self._lock:
            return self._balances.get(account, self._starting_credits)

    def charge(self, account: str, amount: int) -> int:
        """Take `amount` credits and return what is left; InsufficientCredits (and no change) if short."""
        with self._lock:
            balance = self._balances.get(account, self._starting_credits)
            if amount > balance:
                raise InsufficientCredits(balance, amount)
            self._balances[account] = balance - amount
            return balance - amount

    def refund(self, account: str, amount: int) -> int:
        """Give back credits of a charge whose work failed; returns the new balance."""
        with self._lock:
            balance = self._balances.get(account, self._starting_credits) + amount
            self._balances[account] = balance
            return balance


@dataclass(frozen=True)
class StoredResponse:
    """The first successful answer to an Idempotency-Key, and a fingerprint of the request it answered."""

    fingerprint: str
    body: dict
    request_id: str


class IdempotencyCache:
    """Answers remembered per (account, Idempotency-Key), newest kept, with one lock per key in use."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._max_entries = max_entries
        self._responses: OrderedDict[tuple[str, str], StoredResponse] = OrderedDict()
        self._key_locks: dict[tuple[str, str], tuple[threading.Lock, list[int]]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, account: str, key: str) -> Iterator[None]:
        """Serialise requests carrying the same key, so a concurrent repeat waits and then replays."""
        scope = (account, key)
        with self._lock:
            key_lock, users = self._key_locks.setdefault(scope, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with key_lock:
                yield
        finally:
            with self._lock:
                users[0] -= 1
                if users[0] == 0:
                    del self._key_locks[scope]

    def get(self, account: str, key: str) -> StoredResponse | None:
        """The remembered answer for this key, if any."""
        with self._lock:
            return self._responses.get((account, key))

    def put(self, account: str, key: str, response: StoredResponse) -> None:
        """Remember an answer, forgetting the oldest ones beyond the size limit."""
        with self._lock:
            self._responses[(account, key)] = response
            self._responses.move_to_end((account, key))
            while len(self._responses) > self._max_entries:
                self._responses.popitem(last=False)
