"""The prompt enhancer: verbatim user words, no contradictions, the scene kept, no repeats, length limit."""

from __future__ import annotations

import re

import pytest

from lib.contract import MAX_PROMPT_CHARS
from lib.local_studio.engines import enhance_prompt

# Words that show each kind of added detail; the enhancer must add at least three kinds.
CATEGORIES: dict[str, re.Pattern[str]] = {
    "subject detail": re.compile(
        r"\b(detail|detailed|texture|textures|eyes|materials|ingredients|shapes|pose|"
        r"lines|fur|feathers|scales|skin|edges|lettering)\b"
    ),
    "setting": re.compile(
        r"\b(background|backdrop|habitat|table|horizon|sky|surroundings|environment|ground)\b"
    ),
    "lighting": re.compile(r"\b(light|lighting|glow|lit|moonlit|sunlight|illumination)\b"),
    "medium": re.compile(
        r"\b(photography|illustration|artwork|design|washes|brushwork|linework|shading|"
        r"rendition|style|pixel|modelled)\b"
    ),
    "composition": re.compile(
        r"\b(composition|framing|shot|angle|view|centred|lens|focal|negative space|"
        r"rule of thirds|symmetrical)\b"
    ),
    "mood": re.compile(r"\b(mood|atmosphere|feel|sense)\b"),
    "palette": re.compile(r"\b(palette|colours|tones|tonal)\b"),
}
LENS_TALK = (
    r"\b(photograph|photography|photo|photorealistic|35mm|85mm|100mm|lens|bokeh|dslr|depth of field|"
    r"telephoto|background blur)\b"
)
DAYLIGHT = r"\b(sunlight|daylight|golden[- ]hour|midday|noon|sunny|sunrise|window light)\b"
HUES = ("red", "blue", "green", "yellow", "purple", "pink", "orange", "teal", "violet")

# (prompt, words of which at least one shows the subject kind was understood, patterns that must not appear)
CASES: list[tuple[str, str, tuple[str, ...]]] = [
    ("a portrait of an old fisherman", r"skin|eyes|portrait", ()),
    ("a watercolor portrait of a young woman", r"washes|paper", (LENS_TALK,)),
    ("a black and white photo of a jazz musician", r"tonal", (r"colou?r",)),
    ("a bald man smiling at the camera", r"skin|eyes", (r"\bhair\b",)),
    ("a dog on a beach", r"fur|eyes", ()),
    ("an owl perched on a branch at night", r"feathers", (DAYLIGHT,)),
    ("a goldfish in a bowl", r"scales", ()),
    ("a pencil sketch of a horse", r"linework|hatching", (LENS_TALK,)),
    ("a minimalist logo for a coffee shop called Bean", r"shapes|negative space", (LENS_TALK, r"intricate")),
    ("an app icon of a paper plane", r"shapes|negative space", (LENS_TALK,)),
    ("a typographic poster that says HELLO", r"lettering|shapes", (LENS_TALK,)),
    ("a bottle of perfume", r"materials|studio|reflection", ()),
    ("a red sneaker on a white pedestal", r"materials|edges", ()),
    ("a slice of chocolate cake", r"ingredients|appetising", ()),
    ("a bowl of ramen in a cozy noodle bar", r"ingredients|appetising", ()),
    ("a modern glass skyscraper", r"lines|verticals", ()),
    ("a gothic cathedral at night", r"lines|verticals", (DAYLIGHT,)),
    ("a futuristic city skyline at night with neon lights", r"lines|neon", (DAYLIGHT,)),
    ("a mountain lake at sunrise", r"horizon|terrain|natural", (r"moonlit|night",)),
    ("a desert at sunset", r"horizon|natural", (r"moonlit|midday|noon",)),
    ("A serene Japanese garden with cherry blossoms", r"natural|horizon|textures", ()),
    ("a misty pine forest", r"natural|textures", (DAYLIGHT,)),
    ("an abstract composition of circles and lines", r"shapes|rhythm", ()),
    ("a fractal pattern in gold and teal", r"shapes|rhythm", ()),
    ("pixel art of a knight fighting a dragon", r"pixel", (LENS_TALK,)),
    ("an anime girl under cherry blossoms", r"cel shading|linework", (LENS_TALK,)),
    ("a 3d render of a cute robot", r"modelled|illumination", (LENS_TALK,)),
    ("A cute robot reading a book in a cozy library", r"pose|character", (r"open sky", r"studio backdrop")),
    ("an oil painting of a stormy sea", r"brushwork", (LENS_TALK,)),
    ("a minimalist living room", r"simple shapes|lines", (r"intricate|richly|ornate",)),
    ("a cartoon cat wearing sunglasses", r"outlines|fur", (LENS_TALK,)),
    ("a lighthouse at dusk", r"lines|warm low-angle", (r"moonlit|midday|noon",)),
    ("underwater coral reef with fish", r"water|scales", ()),
    ("一只猫坐在窗台上", r"detail", ()),
    ("Ein Hund am Strand bei Sonnenuntergang", r"detail", ()),
    ("Кот спит на диване", r"detail", ()),
    ("夜の東京の街並み、ネオンライト", r"detail", ()),
]


def added_text(prompt: str) -> str:
    """The part the enhancer appended after the user's own words, lower case."""
    result = enhance_prompt(prompt)
    assert result.startswith(prompt.strip())
    return result[len(prompt.strip()) :].lower()


def test_table_is_large_enough() -> None:
    """The rules are checked over at least thirty prompts of every subject kind and some non-English ones."""
    assert len(CASES) >= 30
    assert sum(1 for prompt, _, _ in CASES if not prompt.isascii()) >= 3


@pytest.mark.parametrize(("prompt", "kind_words", "forbidden"), CASES, ids=[c[0][:40] for c in CASES])
def test_keeps_the_prompt_verbatim_first(prompt: str, kind_words: str, forbidden: tuple[str, ...]) -> None:
    """The user's prompt comes back intact, in order, at the start, and something is added after it."""
    result = enhance_prompt(prompt)
    assert result.startswith(prompt)
    assert len(result) > len(prompt) + 40


@pytest.mark.parametrize(("prompt", "kind_words", "forbidden"), CASES, ids=[c[0][:40] for c in CASES])
def test_adds_three_kinds_of_detail(prompt: str, kind_words: str, forbidden: tuple[str, ...]) -> None:
    """At least three of subject detail, setting, lighting, medium, composition, mood, palette are added."""
    added = added_text(prompt)
    kinds = [name for name, pattern in CATEGORIES.items() if pattern.search(added)]
    assert len(kinds) >= 3, kinds


@pytest.mark.parametrize(("prompt", "kind_words", "forbidden"), CASES, ids=[c[0][:40] for c in CASES])
def test_detail_fits_the_subject(prompt: str, kind_words: str, forbidden: tuple[str, ...]) -> None:
    """The added detail is chosen for the kind of subject (fur for a dog, lettering or shapes for a logo)."""
    assert re.search(kind_words, added_text(prompt)), added_text(prompt)


@pytest.mark.parametrize(("prompt", "kind_words", "forbidden"), CASES, ids=[c[0][:40] for c in CASES])
def test_never_contradicts_the_prompt(prompt: str, kind_words: str, forbidden: tuple[str, ...]) -> None:
    """No lens talk for paintings or logos, no daylight at night, no colour in monochrome, no new hues."""
    added = added_text(prompt)
    for pattern in forbidden:
        assert not re.search(pattern, added), (pattern, added)
    for hue in HUES:
        if not re.search(rf"\b{hue}\b", prompt, re.IGNORECASE):
            assert not re.search(rf"\b{hue}\b", added), (hue, added)


@pytest.mark.parametrize("prompt", [case[0] for case in CASES[:8]])
def test_is_deterministic(prompt: str) -> None:
    """The same prompt always gives the same enhancement."""
    assert enhance_prompt(prompt) == enhance_prompt(prompt)


def test_named_colours_lead_the_palette() -> None:
    """Colour words the user wrote shape the palette instead of a default one."""
    added = added_text("a vase of yellow and blue flowers")
    assert "yellow and blue" in added


def test_sentence_prompts_get_a_new_sentence() -> None:
    """A prompt ending in a full stop is followed by a capitalised sentence, not a dangling comma."""
    result = enhance_prompt("A cat on a sofa.")
    assert result.startswith("A cat on a sofa. ")
    assert result[len("A cat on a sofa. ")].isupper()
    assert result.endswith(".")


def test_near_limit_prompt_stays_within_the_limit() -> None:
    """A prompt just under the 10,000 character limit is still returned whole and within the limit."""
    prompt = ("a dog running on a sunny beach " * 400)[: MAX_PROMPT_CHARS - 30].strip()
    result = enhance_prompt(prompt)
    assert result.startswith(prompt)
    assert len(result) <= MAX_PROMPT_CHARS


def test_prompt_at_the_limit_comes_back_unchanged() -> None:
    """A prompt of exactly 10,000 characters has no room for detail and is returned as it is."""
    prompt = ("x" * 9 + " ") * (MAX_PROMPT_CHARS // 10)
    prompt = prompt[: MAX_PROMPT_CHARS - 1] + "y"
    assert enhance_prompt(prompt) == prompt


def test_blank_prompt_is_returned_as_is() -> None:
    """Nothing to enhance: whitespace comes back untouched rather than invented detail."""
    assert enhance_prompt("   ") == "   "


def test_additions_describe_the_scene_the_user_chose() -> None:
    """The detail added to "a dog on a beach" mentions the beach; a cat in a kitchen gets the kitchen."""
    beach = added_text("a dog on a beach")
    kitchen = added_text("a cat sleeping in a kitchen")
    assert "beach" in beach and "kitchen" not in beach
    assert "kitchen" in kitchen and "beach" not in kitchen
    assert "natural habitat" not in beach  # a habitat would replace the beach the user asked for


@pytest.mark.parametrize(
    "prompt",
    [
        "a dog on a beach",
        "A cat sleeping on a windowsill.",
        "a woman in a red coat in Paris",
        "A serene Japanese garden with cherry blossoms",
        "a red fox in the snow at sunset, watercolor",
        "minimalist logo for a bakery called Crumb",
        "a cup of coffee",
    ],
)
def test_enhancing_twice_repeats_nothing(prompt: str) -> None:
    """Enhancing an enhanced prompt adds no phrase twice: it comes back as it was."""
    once = enhance_prompt(prompt)
    twice = enhance_prompt(once)
    assert twice == once
    assert enhance_prompt(twice) == once
