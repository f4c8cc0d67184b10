"""People's text inside Markdown: shown exactly as typed, and cut short at a word boundary."""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$=])")


def escape_markdown(text: str) -> str:
    """Text shown exactly as typed: Markdown, emoji codes and LaTeX markers are escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


def shorten(text: str, limit: int = 280) -> str:
    """The text, cut at a word boundary with an ellipsis when it is longer than limit characters."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"
