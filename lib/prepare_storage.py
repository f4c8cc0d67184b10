"""`python -m lib.prepare_storage`: create or migrate the shared database and bucket before replicas serve.

Replicas also migrate on their first page, under the same advisory lock, so this step is optional; run
before them (compose does), it makes a wrong address or a newer schema fail the deployment's start,
where an operator looks, instead of the first visitor's page.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg

from lib.config import StorageConfigurationError, StorageSettings, resolve_storage
from lib.errors import ImageStudioError

# Where Streamlit looks for secrets, in its order: the user's file, then the project's (which wins).
_RETRY_SECONDS = 2.0
SECRETS_FILES = (Path.home() / ".streamlit" / "secrets.toml", Path(".streamlit") / "secrets.toml")


def read_secrets(files: Sequence[Path] = SECRETS_FILES) -> dict[str, Any]:
    """The secrets Streamlit would read, merged top-level key by key (a missing file adds nothing)."""
    merged: dict[str, Any] = {}
    for file in files:
        if file.is_file():
            with file.open("rb") as handle:
                merged.update(tomllib.load(handle))
    return merged


def prepare_shared_storage(storage: StorageSettings) -> list[str]:
    """Migrate every shared table and create the bucket when missing; one line per part, for the log."""
    from lib.budget_postgres import PostgresCreditBudget
    from lib.object_storage import S3Storage
    from lib.shared_store import SCHEMA_VERSION, PostgresHistoryStore
    from lib.shared_store.postgres_jobs import SCHEMA_VERSION as JOBS_SCHEMA_VERSION
    from lib.shared_store.postgres_jobs import PostgresJobStore

    assert storage.database_url is not None and storage.objects is not None  # shared mode has both
    settings = storage.objects
    objects = S3Storage(settings.endpoint, settings.bucket, access_key_id=settings.access_key_id,
                        secret_access_key=settings.secret_access_key, region=settings.region)
    with PostgresHistoryStore(storage.database_url, objects, max_connections=1, sweep_at_start=False):
        pass
    with PostgresJobStore(storage.database_url, max_connections=1):
        pass
    PostgresCreditBudget(storage.database_url, 0, max_connections=1).close()
    return [f"bucket {settings.bucket!r}: ready",
            f"history tables: schema version {SCHEMA_VERSION}",
            f"job tables: schema version {JOBS_SCHEMA_VERSION}",
            "budget tables: ready"]


def main(environ: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None,
         wait_seconds: float = 0.0) -> int:
    """Prepare shared storage: 0 when ready or nothing to do, 1 when unreachable, 2 when misconfigured.

    Unreachable storage is tried again every 2 s for up to wait_seconds: the database and the object
    store of a deployment starting at the same moment may still be on their way up.
    """
    environ = os.environ if environ is None else environ
    secrets = read_secrets() if secrets is None else secrets
    try:
        storage = resolve_storage(secrets, environ)
    except StorageConfigurationError as problem:
        print(f"Image Studio storage is misconfigured: {problem}", file=sys.stderr)
        return 2
    if not storage.shared:
        print(f"Embedded storage under {storage.data_dir}: nothing to prepare (the app creates it).")
        return 0
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            done = prepare_shared_storage(storage)
            break
        except (OSError, ImageStudioError, psycopg.Error) as problem:  # plain words, never the password
            if time.monotonic() + _RETRY_SECONDS > deadline:
                print(f"Image Studio's shared storage is not ready: {problem}", file=sys.stderr)
                return 1
            time.sleep(_RETRY_SECONDS)
    print("\n".join(["Image Studio's shared storage is ready:", *(f"  {line}" for line in done)]))
    return 0


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m lib.prepare_storage",
        description="Create or migrate the shared database and bucket before the replicas serve.")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="keep trying unreachable storage for this long (default: try once)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main(wait_seconds=_arguments(None).wait))
