"""History shared by several app replicas: rows in PostgreSQL, images in object storage."""

from lib.shared_store.postgres_history import HistoryDatabaseError, PostgresHistoryStore
from lib.shared_store.schema import SCHEMA_VERSION, SchemaTooNewError

__all__ = ["SCHEMA_VERSION", "HistoryDatabaseError", "PostgresHistoryStore", "SchemaTooNewError"]
