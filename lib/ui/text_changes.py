"""What an enhanced prompt added to the original, word by word, so the page can highlight it."""

from __future__ import annotations

import difflib
import re

# Words, runs of spaces, and each other character alone: "beach," keeps "beach" and adds only the comma.
_TOKENS = re.compile(r"\w+|\s+|[^\w\s]")


def added_parts(original: str, enhanced: str) -> list[tuple[str, bool]]:
    """The enhanced text cut into runs, each marked True when it was added (not in the original)."""
    after = _TOKENS.findall(enhanced)
    # Case-blind, so a capitalised first word still counts as the person's own.
    matcher = difflib.SequenceMatcher(
        None, [token.casefold() for token in _TOKENS.findall(original)],
        [token.casefold() for token in after], autojunk=False,
    )
    parts: list[tuple[str, bool]] = []
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if j1 == j2:
            continue
        text = "".join(after[j1:j2])
        added = tag != "equal" and not text.isspace()
        if parts and parts[-1][1] == added:
            parts[-1] = (parts[-1][0] + text, added)
        else:
            parts.append((text, added))
    return parts
