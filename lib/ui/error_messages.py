"""Plain-language messages for everything that can go wrong, as people should read them in the app."""

from __future__ import annotations

from lib.errors import AuthenticationError, ImageStudioError, InsufficientCreditsError
from lib.images import ImageInputError

# Where a key can be set, in the app's own words (the client's message can't know about the sidebar).
WHERE_TO_SET_KEY = (
    "Paste a valid key (it starts with sk_) into the **API key** field in the sidebar, "
    "or set IMAGE_STUDIO_API_KEY in .streamlit/secrets.toml."
)
OUT_OF_CREDITS = "Your organisation is out of credits. Top up in the billing dashboard, then try again."
FALLBACK = "Something went wrong while talking to the Image Studio. Please try again in a moment."


def explain(error: ImageStudioError | ImageInputError) -> str:
    """What happened and what to do, in plain words, with the request id when the server sent one."""
    if isinstance(error, ImageInputError):
        return str(error) or "That file is not an image that can be used."  # it names the file itself
    if isinstance(error, AuthenticationError) and error.status_code in (None, 401):
        message = f"The API key is missing or invalid. {WHERE_TO_SET_KEY}"
    elif isinstance(error, InsufficientCreditsError):
        message = OUT_OF_CREDITS
    else:
        # The client's messages are already written for people (see lib/errors.py).
        message = (error.message or "").strip() or FALLBACK
    if error.request_id:
        message += f" Request id: `{error.request_id}`"
    return message
