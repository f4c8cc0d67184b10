"""Prompt enhancer: keeps the user's prompt verbatim and appends detail that fits its subject and scene.

Enhancing an enhanced prompt adds nothing twice: the detail is chosen from the user's own words (the
phrases this enhancer added are set aside first), and a phrase already in the prompt is not added.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lib.contract import MAX_PROMPT_CHARS


def _words(listing: str) -> re.Pattern[str]:
    """Case-insensitive pattern matching any of the comma-separated words or phrases (plurals too)."""
    words = [word.strip() for word in listing.split(",") if word.strip()]
    body = "|".join(sorted((re.escape(w).replace(r"\ ", r"[\s-]+") for w in words), key=len, reverse=True))
    return re.compile(rf"\b(?:{body})(?:s|es)?\b", re.IGNORECASE)


# Subject kinds. Logos and abstract art are formats that win whenever named; other kinds compete by which
# of their words comes first, so "a woman walking her dog" is a portrait and "a dog in a hat" an animal.
_FORMAT_KINDS: dict[str, re.Pattern[str]] = {
    "logo": _words(
        "logo, logotype, wordmark, monogram, emblem, icon, app icon, badge, lettering, "
        "typography, typographic, sticker design, brand mark"
    ),
    "abstract": _words("abstract, fractal, geometric pattern, pattern, generative art, kaleidoscope"),
}
_SUBJECT_KINDS: dict[str, re.Pattern[str]] = {
    "animal": _words(
        "dog, puppy, cat, kitten, bird, owl, eagle, parrot, horse, fox, wolf, bear, lion, "
        "tiger, elephant, deer, rabbit, bunny, squirrel, fish, whale, dolphin, turtle, "
        "frog, butterfly, bee, snake, lizard, panda, koala, monkey, giraffe, zebra, "
        "goldfish, koi, penguin, duck, swan, hummingbird, cow, sheep, goat, pig, chicken, "
        "animal, wildlife, pet, hedgehog, otter, raccoon, shark, octopus, jellyfish"
    ),
    "character": _words(
        "robot, android, cyborg, mech, dragon, monster, creature, alien, mascot, toy, "
        "teddy bear, plush, elf, fairy, goblin, troll, unicorn, ghost, wizard, "
        "superhero, character, gnome, zombie, vampire"
    ),
    "food": _words(
        "food, dish, meal, cake, pizza, burger, sushi, ramen, noodle, pasta, salad, bread, "
        "croissant, coffee, latte, espresso, tea, cocktail, wine, dessert, chocolate, ice "
        "cream, fruit, breakfast, dinner, lunch, soup, taco, sandwich, cupcake, pancake, "
        "donut, doughnut, cookie, pie, steak, berries, smoothie"
    ),
    "portrait": _words(
        "person, man, men, woman, women, girl, boy, child, children, kid, baby, people, "
        "face, astronaut, knight, warrior, chef, king, queen, prince, princess, dancer, "
        "musician, guitarist, singer, grandmother, grandfather, old man, old woman, "
        "samurai, ninja, soldier, pilot, scientist, doctor, student, couple, family, "
        "model, athlete, farmer, fisherman, monk, bride, groom, cowboy, detective"
    ),
    "product": _words(
        "product, bottle, perfume, watch, wristwatch, sneaker, shoe, handbag, bag, "
        "headphones, earbuds, phone, smartphone, laptop, camera, mug, lipstick, "
        "sunglasses, jewelry, jewellery, ring, necklace, chair, lamp, vase, packaging, "
        "cosmetics, skincare, candle, speaker, keyboard, car, bicycle, furniture"
    ),
    "architecture": _words(
        "building, architecture, skyscraper, skyline, city, cityscape, street, house, "
        "cabin, castle, cathedral, church, temple, mosque, palace, tower, bridge, "
        "interior, living room, kitchen, bedroom, library, museum, office, villa, "
        "facade, town, village, downtown, alley, station, lighthouse, ruins, pagoda, "
        "shrine"
    ),
    "landscape": _words(
        "landscape, mountain, valley, forest, woods, jungle, lake, river, waterfall, "
        "ocean, sea, beach, coast, desert, dune, meadow, field, garden, park, hill, "
        "canyon, glacier, island, sunset, sunrise, sky, clouds, aurora, volcano, "
        "countryside, prairie, savanna, tundra, reef, cliff, bay, harbor, harbour, "
        "cherry blossom, flower, flowers, nature, scenery, vista, snowfield, swamp"
    ),
}
_PORTRAIT_FORMAT = _words("portrait, headshot, selfie, close-up of a face")

# Media the user may name. Photographic ones allow lens talk; every other one forbids it.
_PHOTO_MEDIA = _words(
    "photo, photograph, photography, photorealistic, photo-realistic, realistic, "
    "hyperrealistic, cinematic, film still, polaroid, 35mm, dslr, macro, long "
    "exposure, shot on, snapshot, analog film, hdr"
)
_ART_MEDIA: tuple[tuple[re.Pattern[str], str], ...] = (
    (_words("watercolor, watercolour, aquarelle"), "soft translucent washes with visible paper grain"),
    (_words("oil painting, oil on canvas, impasto, acrylic, gouache"), "rich, textured brushwork"),
    (
        _words("pencil, graphite, charcoal, sketch, drawing, line art, ink, pen and ink"),
        "confident linework with subtle hatching",
    ),
    (
        _words("pixel art, 8-bit, 16-bit, pixelated, voxel"),
        "crisp pixel clusters with clean outlines",
    ),
    (_words("anime, manga, cel shaded, studio ghibli"), "clean cel shading and expressive linework"),
    (_words("cartoon, comic, comic book, chibi, kawaii"), "bold outlines and clean flat shading"),
    (
        _words("3d render, 3d, cgi, octane, blender, unreal engine, clay, claymation, isometric, low poly"),
        "clean modelled forms with soft global illumination",
    ),
    (
        _words("vector, flat design, flat illustration, minimalist, minimal, minimalism"),
        "clean flat shapes with crisp edges",
    ),
    (
        _words(
            "illustration, illustrated, digital art, digital painting, concept art, painting, "
            "painted, storybook, children's book, poster, art nouveau, art deco, ukiyo-e, woodcut, "
            "linocut, engraving, mosaic, stained glass, origami, papercut, paper cut, embroidery, "
            "graffiti, mural, impressionist, impressionism, cubist, surreal, surrealist, pop art, "
            "pastel drawing, tattoo, blueprint, noir"
        ),
        "a cohesive, finely rendered style",
    ),
)
_MINIMAL = _words("minimalist, minimal, minimalism, simple, flat design, sparse")
_MONOCHROME = _words(
    "black and white, black-and-white, b&w, monochrome, monochromatic, grayscale, greyscale, noir, sepia"
)
_COLOURS = _words(
    "red, orange, yellow, green, blue, purple, violet, pink, magenta, cyan, teal, "
    "turquoise, gold, golden, silver, white, black, brown, beige, grey, gray, crimson, "
    "scarlet, navy, emerald, amber, ivory, lavender, lilac, coral, indigo, pastel, mint, "
    "burgundy, maroon, ochre, rainbow"
)
_MOODS = _words(
    "serene, calm, peaceful, tranquil, cozy, cosy, eerie, spooky, creepy, haunted, dramatic, "
    "epic, happy, joyful, cheerful, playful, cute, whimsical, melancholic, melancholy, sad, "
    "lonely, mysterious, romantic, dreamy, nostalgic, moody, gloomy, ominous, tense, "
    "energetic, majestic, elegant, luxurious, stormy, scary, menacing, fierce, angry, "
    "hopeful, quiet, chaotic, magical, enchanted, futuristic, dystopian, utopian, vintage, "
    "retro, festive, somber, sombre, heroic, intimate, bleak"
)
# Lighting by time or place, most specific first; the first that matches the prompt decides.
_LIGHT_BY_CONTEXT: tuple[tuple[re.Pattern[str], str], ...] = (
    (_words("neon, cyberpunk"), "vivid neon glow casting coloured reflections"),
    (
        _words(
            "night, midnight, nighttime, moon, moonlit, moonlight, starry, stars, starlit, galaxy, "
            "milky way, aurora"
        ),
        "cool moonlit tones with warm pools of light in the darkness",
    ),
    (
        _words("sunset, dusk, golden hour, evening, twilight, blue hour"),
        "warm low-angle light with long soft shadows",
    ),
    (_words("sunrise, dawn, morning, daybreak"), "fresh early light with a gentle haze"),
    (
        _words(
            "fog, foggy, mist, misty, haze, hazy, overcast, rain, rainy, storm, stormy, snow, snowy, cloudy"
        ),
        "diffuse, moody light filtering through the weather",
    ),
    (_words("underwater, under water, undersea"), "shafts of light filtering down through the water"),
    (
        _words("noon, midday, sunny, summer day, bright day, daylight, sunlight"),
        "bright clear sunlight with crisp shadows",
    ),
    (
        _words("candle, candlelight, candlelit, fireplace, campfire, lantern"),
        "warm flickering light with soft falloff into shadow",
    ),
    (
        _words(
            "interior, room, library, kitchen, cafe, café, bedroom, office, studio, indoors, inside, "
            "hall, shop, bar, restaurant"
        ),
        "warm ambient light from lamps and windows",
    ),
)
_SETTING = re.compile(
    r"\b(?:in|on|at|inside|under|beneath|over|by|near|beside|among|amid|through|across|against|within|above|"
    r"underwater|outdoors|indoors|background|backdrop)\b",
    re.IGNORECASE,
)
_LETTERING = _words(
    "text, lettering, typography, wordmark, title, words, saying, says, name, letter, font, sign"
)
# The place a scene is set in: the last "on a beach", "in Paris", "by the lake" of the prompt.
_PLACE = re.compile(
    r"\b(?:in|on|at|by|near|beside|inside|under|beneath|among|across|along|over)\s+"
    r"(?:(?:a|an|the|some)\s+)?((?:[A-Za-z][\w'-]*\s+){0,2}?[A-Za-z][\w'-]*)(?=\s*(?:[,.;:!?]|$|\s+(?:at|in|with|during|under|on)\b))",
    re.IGNORECASE,
)
_NOT_PLACES = _words(
    "sunset, sunrise, dawn, dusk, night, noon, midnight, twilight, golden hour, morning, evening, "
    "afternoon, winter, summer, spring, autumn, fall, rain, snow, fog, mist, style, focus, detail, "
    "color, colour, colors, colours, background, foreground, coat, dress, hat, suit, jacket, shirt, "
    "uniform, armor, armour, costume, love, silhouette, motion, action, profile, frame"
)
_FEATHERS = _words("bird, owl, eagle, parrot, penguin, duck, swan, hummingbird, chicken")
_SCALES = _words(
    "fish, goldfish, koi, snake, lizard, shark, turtle, frog, octopus, jellyfish, whale, dolphin"
)


@dataclass(frozen=True)
class _Kind:
    """What to add for one kind of subject; photo_* variants are used only when lens talk fits."""

    subject: str
    setting: str
    medium: str
    light: str
    composition_photo: str
    composition_art: str
    mood: str
    palette: str
    photographic: bool


_KINDS: dict[str, _Kind] = {
    "portrait": _Kind(
        "natural skin texture and expressive eyes",
        "against a softly blurred neutral backdrop",
        "photorealistic portrait photography",
        "soft window light with a gentle rim light",
        "head-and-shoulders framing, 85mm lens, shallow depth of field",
        "head-and-shoulders framing with the eyes as the focal point",
        "an intimate, authentic mood",
        "natural skin tones with a muted complementary palette",
        True,
    ),
    "animal": _Kind(
        "finely detailed {coat} and lifelike eyes",
        "in its natural habitat",
        "wildlife photography",
        "soft natural light with a catchlight in the eyes",
        "eye-level shot, telephoto lens, sharp focus on the eyes, creamy background blur",
        "eye-level view with the eyes as the focal point",
        "a sense of life and character",
        "natural, true-to-life colours",
        True,
    ),
    "character": _Kind(
        "characterful details and an expressive pose",
        "in a softly detailed environment that tells a story",
        "detailed digital illustration",
        "soft key light with a warm rim light",
        "eye-level framing, shallow depth of field",
        "eye-level framing with a clear, readable silhouette",
        "a charming, characterful mood",
        "a harmonious colour palette",
        False,
    ),
    "food": _Kind(
        "fresh ingredients with appetising textures and fine garnish detail",
        "on a rustic wooden table",
        "editorial food photography",
        "soft natural side light with gentle highlights",
        "45-degree angle, 100mm lens, shallow depth of field",
        "inviting three-quarter view",
        "a warm, inviting mood",
        "warm, appetising colours",
        True,
    ),
    "product": _Kind(
        "precise materials, clean edges and subtle surface reflections",
        "on a seamless studio backdrop with a soft reflection beneath",
        "professional product photography",
        "soft studio lighting with controlled reflections",
        "centred hero shot, 100mm lens, crisp focus throughout",
        "centred hero composition",
        "a premium, polished feel",
        "a restrained, premium colour palette",
        True,
    ),
    "architecture": _Kind(
        "precise lines and finely detailed materials",
        "set against an open sky",
        "architectural photography",
        "clear late-afternoon light that models every surface",
        "symmetrical composition, straight verticals, wide-angle lens",
        "symmetrical composition with straight verticals",
        "a sense of scale and quiet grandeur",
        "a refined, natural palette",
        True,
    ),
    "landscape": _Kind(
        "richly detailed natural textures",
        "with a sense of depth toward a distant horizon",
        "fine-art landscape photography",
        "golden-hour light raking across the terrain",
        "wide-angle composition with a strong foreground and leading lines",
        "wide composition with a layered foreground, middle ground and distance",
        "a sense of scale and atmosphere",
        "a natural palette with warm highlights and cool shadows",
        True,
    ),
    "abstract": _Kind(
        "layered shapes with fine texture and crisp transitions",
        "on a clean, seamless ground",
        "contemporary digital artwork",
        "luminous gradients of light",
        "balanced composition with a clear focal point and rhythmic repetition",
        "balanced composition with a clear focal point and rhythmic repetition",
        "a sense of rhythm and movement",
        "a bold complementary colour palette",
        False,
    ),
    "logo": _Kind(
        "bold simple shapes and crisp edges, recognisable at small sizes",
        "on a plain white background",
        "flat vector design",
        "",
        "centred with generous negative space",
        "centred with generous negative space",
        "a confident, memorable feel",
        "a limited two- or three-colour palette",
        False,
    ),
    "scene": _Kind(
        "rich, coherent detail throughout",
        "with surroundings rendered in believable depth",
        "",
        "lighting that suits the scene, with soft shadows",
        "balanced composition following the rule of thirds",
        "balanced composition following the rule of thirds",
        "an evocative atmosphere",
        "a harmonious colour palette",
        False,
    ),
}
_NEUTRAL = (
    "rich, coherent detail throughout",
    "balanced composition with a clear focal point",
    "lighting that suits the scene",
    "harmonious colours",
    "high quality",
)


def _subject_kind(prompt: str) -> str:
    """The kind of subject the prompt describes (portrait, landscape, product, ..., or scene)."""
    for kind, pattern in _FORMAT_KINDS.items():
        if pattern.search(prompt):
            return kind
    first: tuple[int, str] | None = None
    for kind, pattern in _SUBJECT_KINDS.items():
        found = pattern.search(prompt)
        if found and (first is None or found.start() < first[0]):
            first = (found.start(), kind)
    if first:
        return first[1]
    return "portrait" if _PORTRAIT_FORMAT.search(prompt) else "scene"


def _mostly_non_latin(prompt: str) -> bool:
    """True when most letters are outside the Latin script, so English keywords say nothing about it."""
    letters = [c for c in prompt if c.isalpha()]
    return bool(letters) and sum(c.isascii() or "\u00c0" <= c <= "\u024f" for c in letters) < len(letters) / 2


def _named_colours(prompt: str) -> list[str]:
    """Colour words in the prompt, lower case, first occurrence order, at most three."""
    seen: list[str] = []
    for found in _COLOURS.finditer(prompt):
        word = found.group(0).lower()
        if word not in seen:
            seen.append(word)
    return seen[:3]


def _place(prompt: str) -> str | None:
    """The place the prompt sets its subject in ("the beach", "Paris"), or None when it names none."""
    for found in reversed(list(_PLACE.finditer(prompt))):
        words = found.group(1)
        if not _NOT_PLACES.search(words):
            return words if words[0].isupper() else f"the {words.lower()}"
    return None


def _details(prompt: str) -> list[str]:
    """Detail fragments for the prompt: subject, setting, medium, lighting, composition, mood, palette."""
    if _mostly_non_latin(prompt):
        return list(_NEUTRAL)
    kind_name = _subject_kind(prompt)
    kind = _KINDS[kind_name]
    art_medium = next((text for pattern, text in _ART_MEDIA if pattern.search(prompt)), None)
    photo_medium = bool(_PHOTO_MEDIA.search(prompt))
    # Lens talk only where a photograph is what the user asked for or what the kind defaults to.
    photographic = art_medium is None and (photo_medium or kind.photographic)

    subject = kind.subject
    if kind_name == "animal":
        coat = "feathers" if _FEATHERS.search(prompt) else "scales" if _SCALES.search(prompt) else "fur"
        subject = subject.format(coat=coat)
    if kind_name == "logo" and _LETTERING.search(prompt):
        subject += ", with clean, legible lettering"
    if _MINIMAL.search(prompt):
        subject = "clean, simple shapes with deliberate detail"

    setting = "" if _SETTING.search(prompt) and kind_name not in ("landscape", "abstract") else kind.setting
    place = _place(prompt) if kind_name not in ("logo", "abstract") else None
    if place:  # the scene the user chose stays the scene: described, never replaced
        setting = f"{place} rendered in believable depth around the subject"
    if setting and not photographic:
        setting = setting.replace("softly blurred ", "simple ")

    if art_medium:
        medium = art_medium
    elif photo_medium:
        tones = "rich tonal" if _MONOCHROME.search(prompt) else "natural colour"
        medium = f"sharp detail and {tones} rendition"
    else:
        medium = kind.medium

    light = next((text for pattern, text in _LIGHT_BY_CONTEXT if pattern.search(prompt)), kind.light)
    if kind_name == "logo":
        light = ""
    composition = kind.composition_photo if photographic else kind.composition_art

    mood_word = _MOODS.search(prompt)
    mood = f"a {mood_word.group(0).lower()} mood carried through every detail" if mood_word else kind.mood

    colours = _named_colours(prompt)
    if _MONOCHROME.search(prompt):
        palette = "a rich tonal range from deep shadows to clean highlights"
    elif colours:
        named = colours[0] if len(colours) == 1 else ", ".join(colours[:-1]) + " and " + colours[-1]
        palette = f"a harmonious palette built around the {named} tones"
    else:
        palette = kind.palette
    return [part for part in (subject, setting, medium, light, composition, mood, palette) if part]


def _added_phrases() -> list[str]:
    """Every fixed phrase this enhancer may add, longest first."""
    phrases = {text for kind in _KINDS.values() for text in vars(kind).values() if isinstance(text, str)}
    phrases |= {kind.setting.replace("softly blurred ", "simple ") for kind in _KINDS.values()}
    phrases |= {text for _, text in (*_ART_MEDIA, *_LIGHT_BY_CONTEXT)} | set(_NEUTRAL)
    phrases |= {_KINDS["animal"].subject.format(coat=coat) for coat in ("fur", "feathers", "scales")}
    phrases |= {"clean, simple shapes with deliberate detail", "with clean, legible lettering"}
    phrases |= {"a rich tonal range from deep shadows to clean highlights"}
    return sorted((phrase for phrase in phrases if phrase and "{" not in phrase), key=len, reverse=True)


_ADDED = [re.escape(phrase) for phrase in _added_phrases()] + [
    r"sharp detail and (?:rich tonal|natural colour) rendition",
    r"a harmonious palette built around the [\w ,]{1,120}? tones",
    r"an? \w+ mood carried through every detail",
    # Bounded: an unbounded lazy run re-scans to the end of the text from every "the" (quadratic).
    r"(?:the [\w' -]{1,80}?|[A-Z][\w' -]{0,80}?) rendered in believable depth around the subject",
]
_ADDED_PHRASE = re.compile(rf"[,.;]?\s*\b(?:{'|'.join(_ADDED)})(?=\s*[,.;]|\s*$)", re.IGNORECASE)


# Words every added phrase contains one of: a prompt with none of them was never enhanced here, and
# the cheap substring test spares long prompts the costly phrase search.
_ADDED_MARKERS = tuple(
    {phrase.lower() for phrase in _added_phrases()}
    | {"rendition", "harmonious palette", "mood carried", "rendered in believable depth"}
)


def _users_words(prompt: str) -> str:
    """The prompt without the phrases this enhancer adds: what the user wrote, to choose detail from."""
    lower = prompt.lower()
    if not any(marker in lower for marker in _ADDED_MARKERS):
        return prompt
    return _ADDED_PHRASE.sub("", prompt).strip(" ,;") or prompt


def enhance_prompt(prompt: str) -> str:
    """The prompt, verbatim, followed by concrete detail fitting its subject; at most MAX_PROMPT_CHARS.

    Detail already in the prompt is not added again, so enhancing an enhanced prompt returns it as is.
    """
    base = prompt.strip()
    if not base or len(base) >= MAX_PROMPT_CHARS:
        return prompt
    present = base.lower()
    parts = [part for part in _details(_users_words(base)) if part.lower() not in present]
    if not parts:
        return prompt
    sentence_end = base[-1] in ".!?。！？"
    separator = " " if sentence_end or base[-1] in ",;:" else ", "
    # Drop fragments from the end until the whole fits; the user's words always stay.
    while parts:
        tail = ", ".join(parts)
        if sentence_end:
            tail = tail[0].upper() + tail[1:]
        result = f"{base}{separator}{tail}."
        if len(result) <= MAX_PROMPT_CHARS:
            return result
        parts.pop()
    return base
