"""What a prompt asks the preview to show: time of day, scenery, subject and the colours it names."""

from __future__ import annotations

import re

from lib.local_studio.engines.canvas import Colour, mix

COLOUR_WORDS: dict[str, Colour] = {
    "red": (200, 40, 40),
    "crimson": (170, 20, 50),
    "scarlet": (220, 40, 30),
    "orange": (240, 130, 30),
    "amber": (245, 170, 40),
    "yellow": (245, 215, 60),
    "gold": (225, 180, 60),
    "golden": (230, 185, 70),
    "green": (60, 160, 70),
    "emerald": (20, 150, 90),
    "mint": (150, 230, 190),
    "teal": (20, 140, 140),
    "turquoise": (50, 200, 190),
    "cyan": (40, 210, 230),
    "blue": (40, 90, 210),
    "navy": (20, 35, 100),
    "indigo": (70, 50, 160),
    "purple": (130, 50, 170),
    "violet": (150, 80, 210),
    "lavender": (190, 170, 230),
    "lilac": (200, 160, 220),
    "magenta": (220, 40, 180),
    "pink": (240, 140, 180),
    "coral": (250, 120, 100),
    "brown": (120, 80, 45),
    "beige": (220, 200, 165),
    "ivory": (245, 240, 220),
    "white": (240, 240, 240),
    "silver": (190, 195, 205),
    "grey": (130, 130, 135),
    "gray": (130, 130, 135),
    "black": (25, 25, 30),
    "burgundy": (120, 20, 45),
    "maroon": (110, 25, 35),
    "ochre": (200, 140, 50),
}

_COLOUR_PATTERN = re.compile(r"\b(" + "|".join(COLOUR_WORDS) + r")\b", re.IGNORECASE)


def _has(words: str, listing: str) -> bool:
    """True when any comma-separated word or phrase (simple plurals too) appears in the lower-case prompt."""
    names = (name.strip() for name in listing.split(","))
    return any(re.search(rf"\b{re.escape(name)}(?:s|es)?\b", words) for name in names if name)


class Scene:
    """What the prompt asks to be drawn: time of day, elements, subject and palette."""

    def __init__(self, prompt: str) -> None:
        words = prompt.lower()
        self.night = _has(
            words,
            "night, midnight, moon, moonlit, moonlight, stars, starry, galaxy, nighttime, neon, cyberpunk",
        )
        self.sunset = not self.night and _has(words, "sunset, dusk, evening, golden hour, twilight")
        self.dawn = not (self.night or self.sunset) and _has(words, "sunrise, dawn, morning")
        self.neon = _has(words, "neon, cyberpunk, synthwave")
        self.moon = self.night and (_has(words, "moon, moonlit, moonlight") or not self.neon)
        self.sun = not self.night and _has(
            words, "sun, sunny, sunset, sunrise, dawn, summer, beach, desert, golden hour"
        )
        self.interior = _has(
            words,
            "library, room, bedroom, kitchen, cafe, café, interior, office, "
            "studio, indoors, inside, shop, classroom, bookshelf",
        )
        self.books = _has(words, "library, book, bookshelf, reading, study")
        self.city = not self.interior and _has(
            words, "city, skyline, skyscraper, building, street, town, downtown, metropolis, cityscape, tokyo"
        )
        self.water = not self.interior and _has(
            words, "sea, ocean, lake, river, water, beach, pond, bay, harbor, harbour, coast, reflection"
        )
        self.mountains = not self.interior and _has(
            words, "mountain, peak, alps, hill, volcano, valley, canyon, fuji, landscape"
        )
        self.forest = not self.interior and _has(words, "forest, tree, woods, jungle, pine")
        self.blossoms = _has(words, "cherry blossom, sakura, blossom, flower, bloom, garden, spring")
        self.garden = _has(words, "garden, zen, japanese, temple, pagoda")
        self.snow = _has(words, "snow, snowy, winter, ice, frozen, arctic")
        self.desert = _has(words, "desert, dune, sand, sahara")
        self.clouds = not self.interior and (_has(words, "cloud, sky, cloudy, storm") or not self.night)
        self.rain = _has(words, "rain, rainy, storm")
        self.robot = _has(words, "robot, android, cyborg, mech")
        self.animal = (
            "cat" if _has(words, "cat, kitten, fox") else ("dog" if _has(words, "dog, puppy, wolf") else "")
        )
        self.person = not self.robot and _has(
            words, "person, man, woman, girl, boy, child, astronaut, knight, people, figure, portrait"
        )
        # A skyline with no street to stand on is seen across water: the reflection doubles the lights.
        self.waterfront = self.city and not _has(words, "street, road, alley, avenue, market")
        self.colours = [COLOUR_WORDS[m.group(1).lower()] for m in _COLOUR_PATTERN.finditer(prompt)]
        self.landscape = (
            self.water or self.mountains or self.forest or self.city or self.desert or self.garden
        )
        self.abstract = not (
            self.landscape or self.interior or self.robot or self.animal or self.person or self.blossoms
        )


def sky_colours(scene: Scene) -> tuple[Colour, Colour]:
    """Top and horizon colours of the sky for the time of day, tinted by named colours."""
    top: Colour
    horizon: Colour
    if scene.night:
        top, horizon = (8, 10, 32), (44, 36, 92) if scene.neon else (30, 40, 80)
    elif scene.sunset:
        top, horizon = (58, 52, 120), (250, 150, 90)
    elif scene.dawn:
        top, horizon = (110, 145, 205), (250, 205, 180)
    else:
        top, horizon = (70, 135, 210), (190, 220, 242)
    if scene.snow and not scene.night:
        top, horizon = mix(top, (200, 210, 225), 0.4), mix(horizon, (235, 238, 242), 0.5)
    if scene.colours:
        top = mix(top, scene.colours[0], 0.6)
        horizon = mix(horizon, scene.colours[-1], 0.45)
    return top, horizon
