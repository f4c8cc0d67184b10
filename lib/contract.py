"""The Image Studio API contract in one place, shared by the client and the Local Studio."""

from __future__ import annotations

import re

DEFAULT_ENDPOINT = "https://app.apimage.org/api/v1/image-studio"
API_PATH = "/api/v1/image-studio"

MAX_PROMPT_CHARS = 10_000

MODELS: dict[str, str] = {
    "flux-2-pro": "High fidelity: the best detail and prompt adherence.",
    "flux-2-klein-9b": "Fast and cheap: quick drafts and iterations.",
}
DEFAULT_MODEL = "flux-2-pro"
MAX_INPUT_IMAGES: dict[str, int] = {"flux-2-pro": 8, "flux-2-klein-9b": 4}
# What one generation costs with each model, in credits.
MODEL_CREDITS: dict[str, int] = {"flux-2-pro": 4, "flux-2-klein-9b": 1}

ASPECT_RATIOS: tuple[str, ...] = ("1:1", "4:3", "3:4", "3:2", "2:3", "16:9", "9:16", "21:9", "9:21")
DEFAULT_ASPECT_RATIO = "1:1"
# How many images one Generate click may ask for (each is its own paid call, all sent at once).
MAX_IMAGES_PER_CLICK = 4

# Engine limits (Stability background removal and FLUX.2), applied to every input image.
MIN_SIDE_PX = 64
MAX_PIXELS = 4_194_304
# Results are untrusted input too: a result declaring more pixels than this is refused before decoding.
# Engines output at most MAX_PIXELS; four times that (4096 x 4096, 64 MiB decoded as RGBA) leaves room
# for an upscaling engine while a 13000 x 13000 "result" (~680 MB decoded) is refused from its header.
MAX_RESULT_PIXELS = 4 * MAX_PIXELS
MAX_BODY_BYTES = 10 * 1024 * 1024

BACKGROUND_REMOVAL_CREDITS = 2

# Words that make the API route an image + prompt to background removal.
_BACKGROUND_REMOVAL = re.compile(
    r"\b(remove|removing|delete|erase|strip|clear|drop|no)\s+(the\s+|its\s+|this\s+|that\s+)?(background|backdrop|bg)\b"
    r"|\b(background|backdrop|bg)\s+remov"
    r"|\btransparent\s+(background|bg)\b",
    re.IGNORECASE,
)


def input_image_field(index: int) -> str:
    """Body field name of the index-th input image (0-based): input_image, input_image_2, ..."""
    return "input_image" if index == 0 else f"input_image_{index + 1}"


def asks_for_background_removal(prompt: str) -> bool:
    """True when a prompt with an input image would be routed to background removal."""
    return bool(_BACKGROUND_REMOVAL.search(prompt or ""))


def aspect_ratio_value(aspect_ratio: str) -> float:
    """Width over height of an 'W:H' ratio string."""
    width, height = aspect_ratio.split(":")
    return int(width) / int(height)


def prompt_problem(prompt: object) -> str | None:
    """Why a prompt can't be sent (missing, not text, empty or too long), in plain words; None when fine."""
    if prompt is None:
        return "The prompt is missing. Write a prompt first."
    if not isinstance(prompt, str):
        return "The prompt must be text."
    if not prompt.strip():
        return "The prompt is empty. Write a prompt first."
    if len(prompt) > MAX_PROMPT_CHARS:
        extra = len(prompt) - MAX_PROMPT_CHARS
        return (
            f"The prompt is {len(prompt):,} characters long; the limit is {MAX_PROMPT_CHARS:,}. "
            f"Remove {extra:,} character{_plural(extra)} to continue."
        )
    return None


def model_problem(model: object) -> str | None:
    """Why a model name can't be used, in plain words; None when it is one of MODELS."""
    if isinstance(model, str) and model in MODELS:
        return None
    return f"Unknown model {_quoted(model)}. Choose one of: {', '.join(MODELS)}."


def input_limit(model: str, *, compare: bool = False) -> int:
    """How many input images a request may carry: the model's limit, or the smallest when comparing."""
    if compare or model not in MAX_INPUT_IMAGES:
        return min(MAX_INPUT_IMAGES.values())
    return MAX_INPUT_IMAGES[model]


def input_count_problem(model: str, count: int, *, compare: bool = False) -> str | None:
    """Why this many input images can't go with this model (or to both, comparing); None when fine."""
    limit = input_limit(model, compare=compare)
    if count <= limit:
        return None
    who = "Comparing models" if compare else model
    extra = count - limit
    return (
        f"{who} takes at most {limit} input images; {count} were given. "
        f"Remove {extra} and try again."
    )


def images_per_click(count: int, *, compare: bool = False, background_removal: bool = False) -> int:
    """How many images one click makes per model: `count` (1 to 4), or one when comparing or cutting out."""
    # Comparing is one image per model; a cut-out comes out the same every time, so more would waste credits.
    if compare or background_removal:
        return 1
    return max(1, min(MAX_IMAGES_PER_CLICK, int(count)))


def credits_for(
    model: str, *, compare: bool = False, background_removal: bool = False, count: int = 1
) -> int:
    """Credits one click spends: `count` images of the model, both models' when comparing, or a cut-out's."""
    # A request routed to background removal runs one engine at a flat price, whatever the model or compare.
    if background_removal:
        return BACKGROUND_REMOVAL_CREDITS
    if compare:
        return sum(MODEL_CREDITS.values())
    return MODEL_CREDITS[model] * images_per_click(count)


def credits_text(count: int) -> str:
    """A number of credits in words: "1 credit", "4 credits"."""
    return f"{count:,} credit{_plural(count)}"


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def _quoted(value: object) -> str:
    """A short rendering of someone else's value for a message: never a wall of text."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
