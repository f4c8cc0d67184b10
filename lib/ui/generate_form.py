"""The Generate form and its results panel; other pages fill the form through open_in_generate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from lib.contract import (
    ASPECT_RATIOS,
    DEFAULT_ASPECT_RATIO,
    DEFAULT_MODEL,
    MAX_IMAGES_PER_CLICK,
    MODELS,
    credits_for,
    credits_text,
    input_limit,
    prompt_problem,
)
from lib.errors import ImageStudioError
from lib.history_entry import HistoryEntry
from lib.png_metadata import read_settings
from lib.ui import carried_inputs, jobs_panel, result_cards, session, upload_checks
from lib.ui.prompt_box import prompt_box, prompt_caption
from lib.workspace import (
    MAX_UPLOAD_MB,
    UPLOAD_TYPES,
    InputImage,
    form_values,
    orientation,
    routes_to_background_removal,
    slot_models,
)

GENERATE_PAGE = "app_pages/generate.py"

# Session-state keys. The first four are the form's widgets: they keep their values for the whole
# session (persist_state), so other pages can fill them before switching here.
PROMPT = "generate_prompt"
MODEL = "generate_model"
ASPECT_RATIO = "generate_aspect_ratio"
COMPARE = "generate_compare"
IMAGES = "generate_images"  # how many images one click makes (1 to 4)
UNDO_ENHANCE = "generate_undo_enhance_text"  # (text before the first Enhance, latest enhancement)
ENHANCED = "generate_enhanced"  # (original, enhanced) to put in the prompt box on the next run
NOTICE = "generate_notice"  # (kind, text): a one-off message, e.g. "Settings restored from x.png"
FEEDBACK = "generate_feedback"  # (button, [(kind, text)]): what the last click said, shown under it
UPLOAD_CHECKS = "generate_upload_checks"
RESTORE_FILE = "generate_restore_file"
ENHANCE, GENERATE = "enhance", "generate"  # the buttons whose clicks get an answer beside them
CREDITS = "credits"  # the place for "too few credits left", under Generate
_ICONS = {"error": ":material/error:", "warning": ":material/edit_note:"}

Message = tuple[str, str]  # (kind, Markdown text)


@dataclass(frozen=True)
class GenerateForm:
    """What the form holds on this run, which button was pressed, and where each button's answer goes."""

    prompt: str
    model: str
    aspect_ratio: str
    compare: bool
    uploads: list[upload_checks.CheckedUpload]
    carried: int  # input images carried over from History, read from it only when sent
    limit: int
    to_background_removal: bool
    cost: int
    slots: list[str]  # the model of each image this click makes, one paid call each
    enhance: bool
    generate: bool
    answers: dict[str, DeltaGenerator] = field(default_factory=dict, compare=False, repr=False)

    def problem(self) -> str | None:
        """Why nothing can be sent yet, in plain words; None when the request is ready."""
        if problem := prompt_problem(self.prompt):
            return problem
        if any(upload.problem for upload in self.uploads):
            return "Remove the files that are not usable images first."
        count = len(self.uploads) + self.carried
        if count > self.limit:
            return f"Remove {count - self.limit} input image(s) first: the limit is {self.limit}."
        return None

    @property
    def images(self) -> list[InputImage]:
        """The uploaded input images to send."""
        return [upload.image for upload in self.uploads]


def fill_generate_form(values: Mapping[str, str]) -> None:
    """Set the form's prompt, model and aspect ratio (only those given); call before the form is drawn."""
    if "prompt" in values:
        st.session_state[PROMPT] = values["prompt"]
        st.session_state.pop(UNDO_ENHANCE, None)
    if "model" in values:
        st.session_state[MODEL] = values["model"]
    if "aspect_ratio" in values:
        st.session_state[ASPECT_RATIO] = values["aspect_ratio"]


def set_notice(kind: str, text: str) -> None:
    """Leave a message ("success", "info", "warning" or "error") for the next run of the Generate page."""
    st.session_state[NOTICE] = (kind, text)
    st.session_state.pop(FEEDBACK, None)  # an earlier click's message would now be stale


def open_in_generate(
    values: Mapping[str, str], notice: str, *, inputs_of: HistoryEntry | None = None
) -> None:
    """Fill the Generate form (with the input images of `inputs_of`, if any) and switch to its page."""
    fill_generate_form(values)
    carried = carried_inputs.carry_over(session.history_store(), inputs_of) if inputs_of else 0
    if not inputs_of:
        carried_inputs.forget()
    if carried:
        notice += f" Its {carried} input image{'' if carried == 1 else 's'} will be sent with Generate."
    set_notice("success", notice)
    st.switch_page(GENERATE_PAGE)


def _restore_settings() -> None:
    """Fill the form from the settings inside a PNG downloaded from this app."""
    file = st.session_state.get(RESTORE_FILE)
    if file is None:
        return
    settings = read_settings(file.getvalue()) or {}
    values = form_values(settings)
    if not values:
        set_notice("warning", f"{file.name} carries no Image Studio settings: only PNGs downloaded from "
                              "Image Studio do.")
        return
    fill_generate_form(values)
    carried_inputs.forget()  # they belonged to what was in the form before
    if settings.get("kind") in ("edit", "cutout"):
        set_notice("warning", f"Settings restored from {file.name}, but not its input images: a PNG does "
                              "not carry them. Add them under Input images, or Reuse the item in History.")
    else:
        set_notice("success", f"Settings restored from {file.name}. It was made without input images.")


def _back_to_my_prompt() -> None:
    """Undo Enhance: put the prompt back as it was before the first Enhance."""
    typed, _latest = st.session_state.pop(UNDO_ENHANCE, (st.session_state.get(PROMPT, ""), ""))
    st.session_state[PROMPT] = typed


def prepare_state() -> None:
    """Session defaults, a pending enhanced prompt and the one-off notice; call before drawing the form."""
    st.session_state.setdefault(PROMPT, "")
    st.session_state.setdefault(MODEL, DEFAULT_MODEL)
    st.session_state.setdefault(ASPECT_RATIO, DEFAULT_ASPECT_RATIO)
    st.session_state.setdefault(IMAGES, 1)
    if ENHANCED in st.session_state:  # widget values can only change before their widget is drawn
        original, enhanced = st.session_state.pop(ENHANCED)
        typed, latest = st.session_state.get(UNDO_ENHANCE, (original, None))
        # Enhancing an enhancement keeps the way back to the words typed before the first Enhance.
        st.session_state[UNDO_ENHANCE] = (typed if original == latest else original, enhanced)
        st.session_state[PROMPT] = enhanced
    jobs_panel.count_credits()
    if failure := jobs_panel.failure_to_report():
        st.session_state[FEEDBACK] = (GENERATE, failure)
    if NOTICE in st.session_state:
        kind, text = st.session_state.pop(NOTICE)
        getattr(st, kind)(text)


def _answer_slot(button: str) -> DeltaGenerator:
    """The place under a button for its click's answer (the last click's, when it was this button)."""
    slot = st.empty()
    kept = st.session_state.get(FEEDBACK)
    if kept and kept[0] == button:
        _show(slot, kept[1])
    return slot


def _show(slot: DeltaGenerator, messages: list[Message]) -> None:
    with slot.container():
        for kind, text in messages:
            getattr(st, kind)(text, icon=_ICONS[kind])


def _answer(request: GenerateForm, button: str, messages: list[Message]) -> None:
    """Show a click's messages under its button; whatever an earlier click said is cleared everywhere."""
    for slot in request.answers.values():
        slot.empty()
    if messages:
        st.session_state[FEEDBACK] = (button, messages)
        _show(request.answers[button], messages)
    else:
        st.session_state.pop(FEEDBACK, None)


def _credits_warning(request: GenerateForm) -> None:
    """Say so before the click when the balance the server last reported cannot pay for it."""
    if warning := result_cards.too_few_credits(request.cost):
        request.answers[CREDITS].warning(warning, icon=":material/savings:")


def form() -> GenerateForm:
    """Draw the form: prompt, Enhance, Generate with its cost, then model, ratio, compare, inputs, restore."""
    prompt = prompt_box(key=PROMPT, height=150, help="Describe the image. Ctrl+Enter generates.",
                        placeholder="A lighthouse on a cliff at dusk, warm light in the windows")
    # Filled once the settings below are drawn: the caption names what Ctrl+Enter will cost.
    caption_slot = st.empty()

    enhance_column, undo_column = st.columns(2)
    enhance = enhance_column.button("Enhance", key="generate_enhance", icon=":material/auto_awesome:",
                                    help="Rewrite the prompt with more detail (free).", width="stretch")
    if UNDO_ENHANCE in st.session_state:
        undo_column.button("Back to my prompt", key="generate_undo_enhance", icon=":material/undo:",
                           on_click=_back_to_my_prompt, width="stretch",
                           help="Go back to the prompt as it was before the first Enhance.")
    answers = {ENHANCE: _answer_slot(ENHANCE)}
    # The Generate button is drawn last (its label and cost follow the settings below) but shown here,
    # above them, so it is on screen without scrolling.
    generate_area = st.container()

    model = st.selectbox("Model", list(MODELS), key=MODEL, persist_state="session")
    st.caption(MODELS[model])
    aspect_ratio = st.segmented_control("Aspect ratio", ASPECT_RATIOS, key=ASPECT_RATIO, required=True,
                                        persist_state="session", wrap=True) or DEFAULT_ASPECT_RATIO
    st.caption(f"Output: {orientation(aspect_ratio)} ({aspect_ratio})")
    compare = st.toggle("Compare models", key=COMPARE, persist_state="session",
                        help="Run the same prompt on both models and show the two results side by side.")
    count = st.segmented_control("Images", list(range(1, MAX_IMAGES_PER_CLICK + 1)), key=IMAGES,
                                 required=True, persist_state="session", disabled=compare,
                                 help="How many images one click makes: they are made at the same time, "
                                      "each costing its model's price. Compare makes one per model.") or 1

    limit = input_limit(model, compare=compare)
    files = st.file_uploader("Input images (optional)", type=list(UPLOAD_TYPES), accept_multiple_files=True,
                             key="generate_inputs", max_upload_size=MAX_UPLOAD_MB,
                             help=f"Input images turn the prompt into an edit of them (up to {limit}).")
    uploads = upload_checks.checked_uploads(files, UPLOAD_CHECKS)
    upload_checks.show_checked(uploads)
    carried_inputs.show()
    inputs = len(uploads) + carried_inputs.count()
    if inputs > limit:
        who = "Comparing models" if compare else model
        st.warning(f"{who} takes at most {limit} input images: remove {inputs - limit}.")
    to_background_removal = routes_to_background_removal(prompt, inputs)
    cost = credits_for(model, compare=compare, background_removal=to_background_removal, count=count)
    slots = slot_models(model, count, compare=compare, background_removal=to_background_removal)
    if to_background_removal:
        one = " One cut-out is made: it comes out the same every time." if count > 1 else ""
        st.info(f"Your prompt asks to remove the background, so the image goes to background removal "
                f"({credits_text(cost)}) rather than to a model.{one}", icon=":material/content_cut:")
    with st.expander("Restore settings from image"):
        st.file_uploader("Restore settings from image", type=["png"], key=RESTORE_FILE,
                         on_change=_restore_settings, label_visibility="collapsed",
                         help="Drop a PNG downloaded from Image Studio to fill the form with its settings.")

    prompt_caption(caption_slot, prompt, f"generates ({credits_text(cost)})")

    label = "Generate with both models" if len(set(slots)) > 1 else "Generate"
    if len(slots) > 1 and len(set(slots)) == 1:
        label = f"Generate {len(slots)} images"
    with generate_area:
        # Ctrl+Enter: a st.form would submit on it, but would also freeze the character count and forbid
        # an Enhance that rewrites the prompt in place. So the box stays outside a form and the button
        # carries the shortcut; the box commits its text on that key press, before the button fires.
        with st.container(horizontal=True, vertical_alignment="center"):
            generate = st.button(label, key="generate_run", type="primary", icon=":material/brush:",
                                 shortcut="Ctrl+Enter", width="stretch")
            st.markdown(f"**{credits_text(cost)}**", width="content")
        answers[GENERATE] = _answer_slot(GENERATE)
        answers[CREDITS] = st.empty()  # filled after any click: its answer may report a new balance
    return GenerateForm(prompt, model, aspect_ratio, compare, uploads, carried_inputs.count(), limit,
                        to_background_removal, cost, slots, enhance, generate, answers)


def act(request: GenerateForm) -> None:
    """Do what the pressed button asks (Enhance or Generate), answering under that button."""
    if request.enhance:
        enhance_in_place(request)
    elif request.generate:
        run(request)
    _credits_warning(request)


def enhance_in_place(request: GenerateForm) -> None:
    """Enhance the prompt; on success the next run shows it in the box, with a way back."""
    if problem := prompt_problem(request.prompt):
        _answer(request, ENHANCE, [("warning", problem)])
        return
    try:
        with request.answers[ENHANCE].container(), st.spinner("Enhancing the prompt…"):
            outcome = session.current_workspace().enhance_prompt(request.prompt)
    except ImageStudioError as error:
        _answer(request, ENHANCE, [("error", result_cards.error_text(error))])
        return
    session.count_credits(outcome)
    st.session_state.pop(FEEDBACK, None)
    st.session_state[ENHANCED] = (request.prompt, outcome.entry.text)
    st.rerun()


def run(request: GenerateForm) -> None:
    """Start the click's jobs and give the page back at once: the panels beside the form follow them."""
    if problem := request.problem():
        _answer(request, GENERATE, [("warning", problem)])  # nothing is sent
        return
    carried = carried_inputs.images(session.history_store())
    if carried is None:
        _answer(request, GENERATE, [("warning", "The input images from History were deleted there: "
                                                "add them again under Input images.")])
        return
    try:
        jobs_panel.start_jobs(session.current_workspace(), request.prompt, request.slots,
                              request.aspect_ratio, carried + request.images)
    except ImageStudioError as error:  # the budget has no room for the whole click: nothing was queued
        _answer(request, GENERATE, [("error", result_cards.error_text(error))])
        return
    _answer(request, GENERATE, [])


def results_panel() -> None:
    """The latest click's results, read from its job rows (they survive leaving the page)."""
    jobs_panel.results_panel()
