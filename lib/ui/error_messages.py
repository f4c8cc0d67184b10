"""Errors as people should read them in the app: the client's own message plus where in the app to act."""

from __future__ import annotations

from lib.errors import AuthenticationError, ImageStudioError
from lib.images import ImageInputError
from lib.ui.markdown_text import escape_markdown

# Where a key can be set, in the app's own words (the client's message can't know about the sidebar).
WHERE_TO_SET_KEY = (
    "Paste a valid key into the **API key** field in the sidebar, "
    "or set IMAGE_STUDIO_API_KEY in .streamlit/secrets.toml."
)
FALLBACK = "Something went wrong while talking to the Image Studio. Please try again in a moment."


def explain(error: ImageStudioError | ImageInputError) -> str:
    """What happened and what to do, in plain words, with the request id when the server sent one."""
    if isinstance(error, ImageInputError):
        return str(error) or "That file is not an image that can be used."  # it names the file itself
    # The client's messages are already written for people (lib/errors.py): this only adds app hints.
    message = (error.message or "").strip() or FALLBACK
    if hint := _app_hint(error):
        message += f" {hint}"
    if error.request_id:
        message += f" Request id: `{error.request_id}`"
    return message


def explain_as_markdown(error: ImageStudioError | ImageInputError) -> str:
    """explain() as Markdown in which the server's (or a file's) words show literally, never as markup."""
    if isinstance(error, ImageInputError):
        return escape_markdown(explain(error))  # all of it quotes a file name or the decoder
    text = explain(error)
    # A server's words are text: a [link](…), an image or a bare https://… stays inert.
    if error.message:
        text = text.replace(error.message, escape_markdown(error.message))
    if error.request_id:  # shown in a code span: only a backtick could break out of it
        text = text.replace(error.request_id, error.request_id.replace("`", "'"))
    return text


def _app_hint(error: ImageStudioError) -> str | None:
    """What to do about an error in this app's terms, when the client's message can't say it."""
    # A 403 is a key that works but lacks a permission: a new key in the sidebar is not the fix.
    if isinstance(error, AuthenticationError) and error.status_code in (None, 401):
        return WHERE_TO_SET_KEY
    return None
