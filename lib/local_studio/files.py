"""The result images a server hands out, kept in memory under unguessable ids, oldest evicted first."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict


class ResultStore:
    """PNG bytes by id, holding at most `max_bytes` (the newest result is always kept)."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._files: OrderedDict[str, bytes] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def add(self, data: bytes) -> str:
        """Store bytes and return their new id (URL-safe, 192 random bits)."""
        file_id = secrets.token_urlsafe(24)
        with self._lock:
            self._files[file_id] = data
            self._total += len(data)
            # The URL just handed out must work, so the newest file stays even if it alone is over the limit.
            while self._total > self._max_bytes and len(self._files) > 1:
                _, evicted = self._files.popitem(last=False)
                self._total -= len(evicted)
        return file_id

    def get(self, file_id: str) -> bytes | None:
        """The stored bytes, or None when the id is unknown or was evicted."""
        with self._lock:
            return self._files.get(file_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._files)
