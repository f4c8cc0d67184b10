"""What every real service the tests start has in common: a context manager around start() and stop()."""

from __future__ import annotations

from typing import Self


class StartedService:
    """A server process started on entry and stopped on exit, also when starting fails half way."""

    def start(self) -> None:
        """Start the service and wait until it answers."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the service and remove what it left on disk."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        """Start the service; stopped again if starting fails half way."""
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the service."""
        self.stop()
