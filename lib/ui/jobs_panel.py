"""Generate jobs on the page: starting them, the "In progress" panel, and the latest click's results.

Everything shown is read from the job rows, not from session memory, so leaving the page (or reloading
it) and coming back shows the same jobs.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from lib.budget import require_room
from lib.contract import MODELS, credits_for
from lib.history_store_base import HistoryStoreBase
from lib.job_runner import JobRunner
from lib.jobs import CANCELLED, DONE, FAILED, INTERRUPTED, QUEUED, Job, JobStore
from lib.ui import result_cards, session
from lib.ui.error_messages import explain_as_markdown
from lib.ui.markdown_text import escape_markdown, shorten
from lib.workspace import InputImage, Outcome, Workspace, routes_to_background_removal

REFRESH_SECONDS = 1.0
SEEN_ACTIVE = "generate_jobs_seen_active"  # ids of the jobs in progress at the last look
COUNTED = "generate_jobs_counted"  # ids of finished jobs whose credits this session has counted
REPORTED = "generate_jobs_reported"  # ids of clicks whose failure was said under the Generate button
OWN_CLICK = "generate_jobs_own_click"  # job ids of this tab's latest click


@st.cache_resource(show_spinner=False)
def _runner(_jobs: JobStore, location: str) -> JobRunner:
    """One runner per job store for the whole process: its workers outlive any page run."""
    return JobRunner(_jobs, describe_error=explain_as_markdown)  # a worker thread: no session badge


def runner() -> JobRunner:
    """This process's job runner for the configured store."""
    jobs = session.job_store()
    return _runner(jobs, str(id(jobs)))


def start_jobs(workspace: Workspace, prompt: str, models: Sequence[str], aspect_ratio: str | None,
               input_images: Sequence[InputImage]) -> list[Job]:
    """Queue one job per image of a click and hand them to the runner; returns at once.

    Raises BudgetExceededError, before anything is queued, when the calls together would not fit.
    """
    cutout = routes_to_background_removal(prompt, len(input_images))
    require_room(workspace.budget, sum(credits_for(model, background_removal=cutout) if model in MODELS else 0
                                       for model in models))
    jobs = session.job_store()
    batch = jobs.add_batch(workspace.workspace_id, prompt, models, aspect_ratio)
    st.session_state[OWN_CLICK] = [job.id for job in batch]
    images = list(input_images)
    for job in batch:
        # The client (and its key) stays in this closure, in memory: the row names only what was asked.
        def call(model: str = job.model) -> Outcome:
            with workspace.client.copy() as client:  # requests.Session is not documented as thread-safe
                own = Workspace(client, workspace.store, workspace.workspace_id, budget=workspace.budget)
                return own.generate(prompt, model=model, aspect_ratio=aspect_ratio, input_images=images)

        runner().submit(job, call)
    return batch


def _cancel(workspace_id: str, job_id: str) -> None:
    session.job_store().cancel(workspace_id, job_id)


def _dismiss(workspace_id: str, job_id: str) -> None:
    session.job_store().dismiss(workspace_id, job_id)


def _elapsed(job: Job) -> str:
    seconds = int(job.elapsed())
    return f"{seconds // 60}:{seconds % 60:02d}"


def _show_in_progress(jobs: list[Job]) -> None:
    """The list: each job's prompt, model, state and elapsed time, with Cancel (or Dismiss)."""
    st.subheader("In progress")
    for job in jobs:
        with st.container(border=True, horizontal=True, vertical_alignment="center"):
            if job.status == INTERRUPTED:
                st.markdown(f":material/warning: **Interrupted** · {job.model}  \n"
                            f"{escape_markdown(shorten(job.prompt, 80))}  \n"
                            f"{escape_markdown(job.error or '')}")
                st.button("Dismiss", key=f"generate_job_dismiss_{job.id}", on_click=_dismiss,
                          args=(job.workspace_id, job.id), width="content")
                continue
            state = "Waiting for its turn" if job.status == QUEUED else "Running"
            st.markdown(f"**{state}** · {job.model} · {_elapsed(job)}  \n"
                        f"{escape_markdown(shorten(job.prompt, 80))}")
            st.button("Cancel", key=f"generate_job_cancel_{job.id}", on_click=_cancel,
                      args=(job.workspace_id, job.id), width="content",
                      help="Stop waiting. A job already sent may still be charged; its image is then kept "
                           "in History.")


def in_progress_panel() -> None:
    """The "In progress" panel; while jobs run it refreshes itself every second, and the page on each end."""
    jobs = session.job_store()
    workspace_id = session.workspace_id()
    jobs.interrupt_orphans(workspace_id)
    active = any(job.is_active for job in jobs.in_progress(workspace_id))

    @st.fragment(run_every=REFRESH_SECONDS if active else None)
    def panel() -> None:
        listed = jobs.in_progress(workspace_id)
        now_active = {job.id for job in listed if job.is_active}
        ended = set(st.session_state.get(SEEN_ACTIVE, ())) - now_active
        st.session_state[SEEN_ACTIVE] = now_active
        # A job may also end before this run's first look (a quick refusal): the page has not learned of it.
        learned = st.session_state.get(COUNTED, set())
        latest = jobs.latest_batch(workspace_id)
        unlearned = any(not job.is_active and job.id not in learned for job in latest)
        if ended or unlearned:
            st.rerun()  # the whole page: the results panel, the credits and any failure show what ended
        if listed:
            _show_in_progress(listed)

    panel()


def results_panel() -> None:
    """The latest click's images as its jobs finish; an error, a cancel or an interruption in its slot."""
    jobs = session.job_store()
    workspace_id = session.workspace_id()
    batch = jobs.latest_batch(workspace_id)
    if batch and _failed_without_image(batch):
        # Its failure is told under the button; the last images made stay on screen (they are in History).
        batch = jobs.latest_batch(workspace_id, with_image=True)
    if not batch:
        st.caption("Your image will appear here.")
        return
    store = session.history_store()
    models = [job.model for job in batch]
    for place, job in zip(_grid(models), batch, strict=True):
        with place:
            if len(set(models)) > 1:
                st.subheader(job.model)
            _show_job_result(store, job)


def _show_job_result(store: HistoryStoreBase, job: Job) -> None:
    key = f"generate_result_{job.slot}"  # by slot: Streamlit keeps every key a session has seen
    if job.entry_id:
        entry = store.get(job.workspace_id, job.entry_id)
        if entry is None:
            st.warning("This result was deleted from History.")
        else:
            result_cards.result_card(store, entry, key=key, is_preview=job.is_preview)
        if job.arrived_after_cancel:
            st.caption(":material/info: Arrived after you cancelled: it was paid for, so History keeps it.")
        return
    if (unsaved := runner().unsaved(job.id)) is not None:
        result_cards.unsaved_result_card(unsaved.png, unsaved.entry, key=key)
    if job.status == FAILED:
        st.error(job.error or "This image could not be made.", icon=":material/error:")
    elif job.status == CANCELLED:
        st.info("Cancelled.", icon=":material/cancel:")
    elif job.status == INTERRUPTED:
        st.warning(f"Interrupted: {job.error}", icon=":material/warning:")
    elif job.status != DONE:
        st.info(f"{job.model}: on its way…", icon=":material/hourglass_top:")


def _failed_without_image(batch: list[Job]) -> bool:
    """True when a click has ended with no image at all, each of its jobs failed."""
    return all(job.status == FAILED and not job.entry_id and runner().unsaved(job.id) is None
               for job in batch)


def failure_to_report() -> list[tuple[str, str]] | None:
    """The latest click's errors, once, when it ended with no image: (kind, Markdown) for under Generate."""
    jobs = session.job_store()
    # This tab's own click: another tab of the workspace (another device, another replica) may have
    # clicked since, and its jobs must neither hide this click's failure nor show theirs here.
    own = [job for job in map(jobs.get, st.session_state.get(OWN_CLICK, ())) if job is not None]
    batch = own or jobs.latest_batch(session.workspace_id())
    reported: set[str] = st.session_state.setdefault(REPORTED, set())
    if not batch or batch[0].batch_id in reported or not _failed_without_image(batch):
        return None
    reported.add(batch[0].batch_id)
    many = len({job.model for job in batch}) > 1
    seen: dict[tuple[str, str], None] = {}  # a refused click fails every slot the same way: say it once
    for job in batch:
        seen.setdefault((job.model, job.error or "This image could not be made."), None)
    return [("error", f"**{model}:** {error}" if many else error) for model, error in seen]


def count_credits() -> None:
    """Learn once from each ended job of the latest click: its credits, or what its error says about the key.

    Call before the form is drawn: the sidebar and the "too few credits" warning then know the new balance.
    """
    counted: set[str] = st.session_state.setdefault(COUNTED, set())
    for job in session.job_store().latest_batch(session.workspace_id()):
        if job.id in counted or job.is_active:
            continue
        counted.add(job.id)
        if job.entry_id:
            session.count_paid_call(job.credits_used, job.credits_remaining)
        elif (error := runner().error(job.id)) is not None:
            session.note_error(error)  # a refused key turns the sidebar's badge red


def _grid(models: list[str]) -> list[DeltaGenerator]:
    """One place per image: alone and large, or two to a row."""
    if len(models) == 1:
        return [st.container()]
    places: list[DeltaGenerator] = []
    for start in range(0, len(models), 2):
        places.extend(st.columns(2)[: len(models) - start])
    return places

