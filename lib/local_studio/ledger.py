"""Credits per account and the Idempotency-Key memory, both safe to use from many threads at once."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
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
    """Answers remembered per account and Idempotency-Key, bounded per account in number and in age."""

    def __init__(
        self,
        max_per_account: int = 1000,
        max_age_s: float = 24 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_per_account = max_per_account
        self._max_age_s = max_age_s
        self._clock = clock
        # One memory per account, oldest first: an account's traffic only ever evicts its own answers.
        self._by_account: dict[str, OrderedDict[str, tuple[float, StoredResponse]]] = {}
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
        """The remembered answer for this account's key, if any and not too old."""
        with self._lock:
            answers = self._by_account.get(account)
            if answers is None:
                return None
            self._forget_expired(account, answers)
            entry = answers.get(key)
            return entry[1] if entry is not None else None

    def put(self, account: str, key: str, response: StoredResponse) -> None:
        """Remember an answer, forgetting this account's oldest ones beyond its limits."""
        with self._lock:
            answers = self._by_account.setdefault(account, OrderedDict())
            answers[key] = (self._clock(), response)
            answers.move_to_end(key)
            while len(answers) > self._max_per_account:
                answers.popitem(last=False)
            self._forget_expired(account, answers)

    def count(self, account: str) -> int:
        """How many answers this account has remembered now."""
        with self._lock:
            return len(self._by_account.get(account, ()))

    def __len__(self) -> int:
        with self._lock:
            return sum(len(answers) for answers in self._by_account.values())

    def _forget_expired(self, account: str, answers: OrderedDict[str, tuple[float, StoredResponse]]) -> None:
        # Oldest first, so the expired ones are all at the front.
        cutoff = self._clock() - self._max_age_s
        while answers and next(iter(answers.values()))[0] <= cutoff:
            answers.popitem(last=False)
        if not answers:
            del self._by_account[account]
