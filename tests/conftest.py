"""Shared fixtures: sample photos and real Local Studio servers (pyproject puts the root on sys.path)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lib.local_studio import LocalStudioHandle, StudioConfig, start_local_studio
from tests.app_testing import forget_configured_connection, studio_secrets
from tests.fault_server import FaultServer

# Real PostgreSQL and SeaweedFS (S3) servers for the shared store's tests: see those modules.
pytest_plugins = ("tests.postgres_server", "tests.seaweedfs_server")

ROOT = Path(__file__).resolve().parents[1]

# Plenty for a whole test run on the shared server: no test should meet a 402 it did not ask for.
SESSION_CREDITS = 1_000_000


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The folder of sample photos (astronaut, camera, chelsea, coffee, rocket .jpg)."""
    return ROOT / "assets" / "samples"


@pytest.fixture(scope="session")
def local_studio() -> Iterator[LocalStudioHandle]:
    """One Local Studio for the whole run (demo key, default prices, a large starting balance)."""
    handle = start_local_studio(config=StudioConfig(starting_credits=SESSION_CREDITS))
    yield handle
    handle.stop()


@pytest.fixture
def fresh_local_studio() -> Iterator[Callable[..., LocalStudioHandle]]:
    """A factory of new servers with their own config and ledger: fresh_local_studio(starting_credits=5)."""
    handles: list[LocalStudioHandle] = []

    def start(config: StudioConfig | None = None, **fields: object) -> LocalStudioHandle:
        handle = start_local_studio(config=config or StudioConfig(**fields))  # type: ignore[arg-type]
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()


@pytest.fixture(autouse=True)
def _no_configured_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test says its own connection: none may come from the machine's environment."""
    forget_configured_connection(monkeypatch)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A history folder of this test's own."""
    return tmp_path / "data"


@pytest.fixture
def secrets(local_studio: LocalStudioHandle, data_dir: Path) -> dict[str, str]:
    """App secrets pointing at the test run's Local Studio, with this test's own history folder."""
    return studio_secrets(local_studio, data_dir)


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    """One server of canned API faults per test module (it records every request it gets)."""
    with FaultServer() as server:
        yield server
