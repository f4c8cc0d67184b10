"""This browser session's workspace: its id in the page URL, the shared history store, and its actions."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import psycopg
import streamlit as st

from lib.config import DATABASE_URL_NAME, ObjectStoreSettings, StorageConfigurationError, resolve_storage
from lib.errors import AuthenticationError, ImageStudioError, InsufficientCreditsError
from lib.history_store_base import HistoryStoreBase
from lib.jobs import JobStore, SqliteJobStore
from lib.store import HistoryStore
from lib.ui import connection_panel, sign_in
from lib.workspace import HistorySaveError, Outcome, Workspace
from lib.workspace_links import open_workspace_link, workspace_secret

if TYPE_CHECKING:  # loaded only in shared mode: the embedded default never imports boto3 and the pool
    from lib.shared_store import PostgresHistoryStore

WORKSPACE_PARAM = "ws"
_WORKSPACE_ID = "workspace_id"


@st.cache_resource(show_spinner=False)
def _open_store(root: str) -> HistoryStore:
    """One store per data folder, shared by all sessions (it is thread-safe; ids keep workspaces apart)."""
    return HistoryStore(root)


def _close_job_store(jobs: JobStore) -> None:
    """Give the job store's database connections back when Streamlit's cache lets go of it (a clear)."""
    # This process's job runner keeps the store it was made with, so it is never collected: without this a
    # cleared cache would leave its pool connected until the process ends. Clearing is an operator's or a
    # developer's act (Clear cache), never a user's; a job running then still saves its image to History,
    # only its row stays "running" until the next start marks it interrupted. (The shared history store
    # needs no hook: it closes its pool itself once the last page run or job holding it lets go.)
    jobs.close()


@st.cache_resource(show_spinner=False)
def _open_shared_store(database_url: str, endpoint: str, bucket: str, access_key_id: str | None,
                       region: str | None, _objects: ObjectStoreSettings) -> PostgresHistoryStore:
    """One shared store per database and bucket, shared by all sessions of this replica.

    Keyed by where the data is (the URL's hash stays in this process); the S3 secret is not part of the key.
    """
    from lib.object_storage import S3Storage
    from lib.shared_store import PostgresHistoryStore

    objects = S3Storage(endpoint, bucket, access_key_id=access_key_id,
                        secret_access_key=_objects.secret_access_key, region=region)
    return PostgresHistoryStore(database_url, objects)


def history_store() -> HistoryStoreBase:
    """The history store the configuration names; a half-configured shared mode stops the app, saying why."""
    try:
        storage = resolve_storage(st.secrets, os.environ)
    except StorageConfigurationError as problem:  # the operator's fix: nothing may be served or written
        st.error(str(problem), icon=":material/report:")
        st.stop()
    if not storage.shared:
        return _open_store(str(storage.data_dir))
    assert storage.database_url is not None and storage.objects is not None  # shared mode has both
    objects = storage.objects
    try:
        store = _open_shared_store(storage.database_url, objects.endpoint, objects.bucket,
                                   objects.access_key_id, objects.region, objects)
        store.refuse_newer_schema()  # a replica of a newer release may have migrated since this one started
        return store
    except (OSError, ImageStudioError, psycopg.Error) as problem:  # not cached: the next run tries again
        st.error(shared_store_problem(problem), icon=":material/cloud_off:")
        st.stop()


@st.cache_resource(show_spinner=False, on_release=_close_job_store)
def _open_job_store(location: str, shared: bool) -> JobStore:
    """One job store per data folder or database, shared by all sessions of this process."""
    if shared:
        from lib.shared_store.postgres_jobs import PostgresJobStore

        return PostgresJobStore(location)
    return SqliteJobStore(location)


def job_store() -> JobStore:
    """Where Generate jobs are rows: beside the history the configuration names (checked by history_store)."""
    history_store()  # a misconfiguration or an unreachable database stops the page here, saying why
    storage = resolve_storage(st.secrets, os.environ)
    if not storage.shared:
        return _open_job_store(str(storage.data_dir), False)
    assert storage.database_url is not None  # shared mode has it
    try:
        return _open_job_store(storage.database_url, True)
    except (OSError, ImageStudioError, psycopg.Error) as problem:  # e.g. a jobs table a newer release made
        st.error(shared_store_problem(problem), icon=":material/cloud_off:")
        st.stop()


def shared_store_problem(problem: Exception) -> str:
    """Why the shared history cannot be opened, in plain words (never the URL: it may hold a password)."""
    if isinstance(problem, (OSError, ImageStudioError)):  # plain already: the object store's or the schema's
        return f"History is unavailable: {problem}"
    return (f"History is unavailable: the database named by {DATABASE_URL_NAME} could not be opened "
            f"({type(problem).__name__}). Check that it is running and reachable, then reload the page.")


def workspace_id() -> str:
    """This session's workspace id, taken from the URL once if genuine, and written back to it on every run.

    Query parameters do not follow page navigation, so the frame calls this on every run of every page:
    a reload or a bookmark on any page then reopens the same history.
    """
    member = sign_in.current_member()
    if member is not None:
        # Signed in, history belongs to the person on every device; a link in the address means nothing.
        if WORKSPACE_PARAM in st.query_params:
            del st.query_params[WORKSPACE_PARAM]
        return member.person.key
    if _WORKSPACE_ID not in st.session_state:
        store = history_store()  # first: a storage misconfiguration is said before anything is written
        # Only an id this deployment minted is adopted: any other opens a fresh workspace (an old-style link
        # bringing its history along, once), and the URL below changes to it.
        try:
            secret = workspace_secret(st.secrets, os.environ)
        except ValueError as problem:  # a configured secret too short to protect anyone: the operator's fix
            st.error(str(problem), icon=":material/key_off:")
            st.stop()
        from_url = st.query_params.get(WORKSPACE_PARAM)
        opened = open_workspace_link(from_url, secret, store)
        st.session_state[_WORKSPACE_ID] = opened.workspace_id
        if opened.notice:
            st.toast(opened.notice, icon=":material/bookmark:", duration="infinite")
    current = st.session_state[_WORKSPACE_ID]
    if st.query_params.get(WORKSPACE_PARAM) != current:
        st.query_params[WORKSPACE_PARAM] = current
    return current


def current_workspace() -> Workspace:
    """Actions for this session: its client, the shared store and its workspace id."""
    return Workspace(connection_panel.current_client(), history_store(), workspace_id(),
                     budget=sign_in.personal_budget(connection_panel.uses_own_key()))


def count_credits(outcome: Outcome) -> None:
    """Count a finished request's credits in this session's total (the key worked: the badge says so)."""
    count_paid_call(outcome.credits_used, outcome.credits_remaining)


def count_paid_call(credits_used: int | None, credits_remaining: int | None) -> None:
    """Count a finished call's credits in this session's total, given as numbers (a job's row keeps them)."""
    connection_panel.note_key_worked()
    connection_panel.record_credits(credits_used, credits_remaining)


def note_error(error: Exception) -> None:
    """Learn what a failed request says about the key: a 401 refused it; a 402 means it was accepted."""
    if isinstance(error, AuthenticationError) and error.status_code == 401:
        connection_panel.note_key_refused()
    elif isinstance(error, (InsufficientCreditsError, HistorySaveError)):
        # Out of credits is only said to a key the server knows; a failed save followed a paid answer.
        connection_panel.note_key_worked()
