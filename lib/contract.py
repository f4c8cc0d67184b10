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

ASPECT_RATIOS: tuple[str, ...] = ("1:1", "4:3", "3:4", "3:2", "2:3", "16:9", "9:16", "21:9", "9:21")
DEFAULT_ASPECT_RATIO = "1:1"

# Engine limits (Stability background removal and FLUX.2), applied to every input image.
MIN_SIDE_PX = 64
MIN_PIXELS = 4_096
MAX_PIXELS = 4_194_304
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
