"""People's text inside Markdown: shown exactly as typed, and cut short at a word boundary."""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$=])")
# GitHub-flavoured Markdown turns bare addresses into links after escapes are resolved, so escaping
# cannot stop it: an invisible word joiner inside each trigger ("https://", "www.", "name@host") does
# (a copied address then carries it too: server text is to be read, not followed).
_AUTOLINK_TRIGGER = re.compile(r"(?i)(\b(?:https?|ftp):(?=/)|\bwww(?=\.)|@(?=[\w-]))")
WORD_JOINER = "\u2060"


def escape_markdown(text: str) -> str:
    """Text shown exactly as typed: Markdown, emoji codes and LaTeX markers are escaped."""
    unlinked = _AUTOLINK_TRIGGER.sub(lambda match: match.group(0) + WORD_JOINER, text)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", unlinked).replace("\n", "  \n")


def shorten(text: str, limit: int = 280) -> str:
    """The text, cut at a word boundary with an ellipsis when it is longer than limit characters."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"
