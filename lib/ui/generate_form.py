"""The Generate form and its results panel; other pages fill the form through open_in_generate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from lib.contract import (
    ASPECT_RATIOS,
    BACKGROUND_REMOVAL_CREDITS,
    DEFAULT_ASPECT_RATIO,
    DEFAULT_MODEL,
    MODELS,
    input_limit,
    prompt_problem,
)
from lib.contract import MAX_PROMPT_CHARS as LIMIT
from lib.errors import ImageStudioError
from lib.png_metadata import read_settings
from lib.ui import result_cards, session, upload_checks
from lib.ui.error_messages import explain
from lib.workspace import (
    MAX_UPLOAD_MB,
    UPLOAD_TYPES,
    InputImage,
    form_values,
    orientation,
    routes_to_background_removal,
)

GENERATE_PAGE = "app_pages/generate.py"

# Session-state keys. The first four are the form's widgets: they keep their values for the whole
# session (persist_state), so other pages can fill them before switching here.
PROMPT = "generate_prompt"
MODEL = "generate_model"
ASPECT_RATIO = "generate_aspect_ratio"
COMPARE = "generate_compare"
PROMPT_BEFORE_ENHANCE = "generate_prompt_before_enhance"  # for "Back to my prompt"
ENHANCED = "generate_enhanced"  # (original, enhanced) to put in the prompt box on the next run
NOTICE = "generate_notice"  # (kind, text): a one-off message, e.g. "Settings restored from x.png"
RESULTS = "generate_results"  # [{"entry_id", "model", "preview"}] of the last successful run: ids only
ERRORS = "generate_errors"  # messages of the last run that failed, in whole or in part
UPLOAD_CHECKS = "generate_upload_checks"
RESTORE_FILE = "generate_restore_file"


@dataclass(frozen=True)
class GenerateForm:
    """What the form holds on this run, and which button was pressed."""

    prompt: str
    model: str
    aspect_ratio: str
    compare: bool
    uploads: list[upload_checks.CheckedUpload]
    limit: int
    to_background_removal: bool
    enhance: bool
    generate: bool

    def problem(self) -> str | None:
        """Why nothing can be sent yet, in plain words; None when the request is ready."""
        if problem := prompt_problem(self.prompt):
            return problem
        if any(upload.problem for upload in self.uploads):
            return "Remove the files that are not usable images first."
        if len(self.uploads) > self.limit:
            return f"Remove {len(self.uploads) - self.limit} input image(s) first: the limit is {self.limit}."
        return None

    @property
    def images(self) -> list[InputImage]:
        """The input images to send."""
        return [upload.image for upload in self.uploads]


def fill_generate_form(values: Mapping[str, str]) -> None:
    """Set the form's prompt, model and aspect ratio (only those given); call before the form is drawn."""
    if "prompt" in values:
        st.session_state[PROMPT] = values["prompt"]
        st.session_state.pop(PROMPT_BEFORE_ENHANCE, None)
    if "model" in values:
        st.session_state[MODEL] = values["model"]
    if "aspect_ratio" in values:
        st.session_state[ASPECT_RATIO] = values["aspect_ratio"]


def set_notice(kind: str, text: str) -> None:
    """Leave a message ("success", "info", "warning" or "error") for the next run of the Generate page."""
    st.session_state[NOTICE] = (kind, text)


def open_in_generate(values: Mapping[str, str], notice: str) -> None:
    """Fill the Generate form and switch to its page."""
    fill_generate_form(values)
    set_notice("success", notice)
    st.switch_page(GENERATE_PAGE)


def _restore_settings() -> None:
    """Fill the form from the settings inside a PNG downloaded from this app."""
    file = st.session_state.get(RESTORE_FILE)
    if file is None:
        return
    values = form_values(read_settings(file.getvalue()) or {})
    if values:
        fill_generate_form(values)
        set_notice("success", f"Settings restored from {file.name}.")
    else:
        set_notice("warning", f"{file.name} carries no Image Studio settings: only PNGs downloaded from "
                              "Image Studio do.")


def _back_to_my_prompt() -> None:
    """Undo Enhance: put the prompt back as it was typed."""
    st.session_state[PROMPT] = st.session_state.pop(PROMPT_BEFORE_ENHANCE, st.session_state.get(PROMPT, ""))


def prepare_state() -> None:
    """Session defaults, a pending enhanced prompt and the one-off notice; call before drawing the form."""
    st.session_state.setdefault(PROMPT, "")
    st.session_state.setdefault(MODEL, DEFAULT_MODEL)
    st.session_state.setdefault(ASPECT_RATIO, DEFAULT_ASPECT_RATIO)
    if ENHANCED in st.session_state:  # widget values can only change before their widget is drawn
        st.session_state[PROMPT_BEFORE_ENHANCE], st.session_state[PROMPT] = st.session_state.pop(ENHANCED)
    if NOTICE in st.session_state:
        kind, text = st.session_state.pop(NOTICE)
        getattr(st, kind)(text)


def form() -> GenerateForm:
    """Draw the form (restore, prompt and count, Enhance, model, ratio, compare, inputs, Generate)."""
    with st.expander("Restore settings from image"):
        st.file_uploader("Restore settings from image", type=["png"], key=RESTORE_FILE,
                         on_change=_restore_settings, label_visibility="collapsed",
                         help="Drop a PNG downloaded from Image Studio to fill the form with its settings.")

    # Ctrl+Enter: a st.form submits on Ctrl+Enter, but it would also freeze the character count and
    # forbid an Enhance button that rewrites the prompt in place. So the prompt box stays outside a form
    # and the Generate button carries the Ctrl+Enter shortcut (Cmd+Enter on a Mac). The box commits its
    # text on that same key press, before the button fires, so the run sees the latest prompt.
    prompt = st.text_area("Prompt", key=PROMPT, height=150, persist_state="session",
                          placeholder="A lighthouse on a cliff at dusk, warm light in the windows",
                          help="Describe the image. Ctrl+Enter generates.")
    # The count updates whenever the box commits (Ctrl+Enter, or leaving it). max_chars would count while
    # typing, but it silently cuts longer text (a paste, a restored prompt): we say so and send nothing.
    count = f"{len(prompt):,} / {LIMIT:,} characters"
    st.caption(f":red[{count} — too long]" if len(prompt) > LIMIT else count)

    enhance_column, undo_column = st.columns(2)
    enhance = enhance_column.button("Enhance", key="generate_enhance", icon=":material/auto_awesome:",
                                    help="Rewrite the prompt with more detail (free).", width="stretch")
    if PROMPT_BEFORE_ENHANCE in st.session_state:
        undo_column.button("Back to my prompt", key="generate_undo_enhance", icon=":material/undo:",
                           on_click=_back_to_my_prompt, width="stretch", help="Undo Enhance.")

    model = st.selectbox("Model", list(MODELS), key=MODEL, persist_state="session")
    st.caption(MODELS[model])
    aspect_ratio = st.segmented_control("Aspect ratio", ASPECT_RATIOS, key=ASPECT_RATIO, required=True,
                                        persist_state="session", wrap=True)
    st.caption(f"Output: {orientation(aspect_ratio)} ({aspect_ratio})")
    compare = st.toggle("Compare models", key=COMPARE, persist_state="session",
                        help="Run the same prompt on both models and show the two results side by side.")

    limit = input_limit(model, compare=compare)
    files = st.file_uploader("Input images (optional)", type=list(UPLOAD_TYPES), accept_multiple_files=True,
                             key="generate_inputs", max_upload_size=MAX_UPLOAD_MB,
                             help=f"Input images turn the prompt into an edit of them (up to {limit}).")
    uploads = upload_checks.checked_uploads(files, UPLOAD_CHECKS)
    upload_checks.show_checked(uploads)
    if len(uploads) > limit:
        who = "Comparing models" if compare else model
        st.warning(f"{who} takes at most {limit} input images: remove {len(uploads) - limit}.")
    to_background_removal = routes_to_background_removal(prompt, len(uploads))
    if to_background_removal:
        st.info(f"Your prompt asks to remove the background, so the image goes to background removal "
                f"({BACKGROUND_REMOVAL_CREDITS} credits) rather than to a model.",
                icon=":material/content_cut:")

    label = "Generate with both models" if compare and not to_background_removal else "Generate"
    generate = st.button(label, key="generate_run", type="primary", icon=":material/brush:",
                         shortcut="Ctrl+Enter", width="stretch")
    return GenerateForm(prompt, model, aspect_ratio, compare, uploads, limit, to_background_removal,
                        enhance, generate)


def enhance_in_place(request: GenerateForm) -> None:
    """Enhance the prompt; on success the next run shows it in the box, with a way back."""
    if problem := prompt_problem(request.prompt):
        st.warning(problem, icon=":material/edit_note:")
        return
    try:
        with st.spinner("Enhancing the prompt…"):
            outcome = session.current_workspace().enhance_prompt(request.prompt)
    except ImageStudioError as error:
        result_cards.show_error(error)
        return
    session.count_credits(outcome)
    st.session_state[ENHANCED] = (request.prompt, outcome.entry.text)
    st.rerun()


def run(request: GenerateForm) -> None:
    """Send the request (one model, or both to compare) and keep the result ids and any error messages."""
    if problem := request.problem():
        st.warning(problem, icon=":material/edit_note:")  # nothing is sent
        return
    outcomes: dict[str, object]
    with st.spinner("Generating…", show_time=True):
        try:
            workspace = session.current_workspace()
            if request.compare and not request.to_background_removal:
                outcomes = dict(workspace.compare_models(request.prompt, aspect_ratio=request.aspect_ratio,
                                                         input_images=request.images))
            else:
                outcomes = {request.model: workspace.generate(request.prompt, model=request.model,
                                                              aspect_ratio=request.aspect_ratio,
                                                              input_images=request.images)}
        except ImageStudioError as error:
            outcomes = {request.model: error}
    results, errors = [], []
    for model, outcome in outcomes.items():
        if isinstance(outcome, ImageStudioError):
            errors.append(f"**{model}:** {explain(outcome)}" if len(outcomes) > 1 else explain(outcome))
        else:
            session.count_credits(outcome)
            results.append({"entry_id": outcome.entry.id, "model": model, "preview": outcome.is_preview})
    st.session_state[ERRORS] = errors
    if results:  # after a failure the last good result stays on screen (it is in History anyway)
        st.session_state[RESULTS] = results


def results_panel() -> None:
    """The last run's errors, then its result(s): one large image, or two side by side."""
    for message in st.session_state.get(ERRORS, []):
        st.error(message, icon=":material/error:")
    results = st.session_state.get(RESULTS, [])
    if not results:
        if not st.session_state.get(ERRORS):
            st.caption("Your image will appear here.")
        return
    store = session.history_store()
    workspace_id = session.workspace_id()
    columns: list[DeltaGenerator] = st.columns(len(results)) if len(results) > 1 else [st.container()]
    for position, (column, result) in enumerate(zip(columns, results, strict=True)):
        with column:
            if len(results) > 1:
                st.subheader(result["model"])
            entry = store.get(workspace_id, result["entry_id"])
            if entry is None:
                st.warning("This result was deleted from History.")
            else:
                # Keyed by position: Streamlit keeps every key a session has seen, so an id here would
                # grow the session with each result.
                result_cards.result_card(store, entry, key=f"generate_result_{position}",
                                       is_preview=result["preview"])
