"""Preview generator: a deterministic scene composed from the prompt's words, rendered at ~1 MP."""

from __future__ import annotations

import hashlib
import math
import re

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lib.contract import ASPECT_RATIOS, DEFAULT_ASPECT_RATIO, aspect_ratio_value
from lib.local_studio.engines.edits import edit_image
from lib.local_studio.engines.styles import apply_style, style_of

__all__ = ["edit_image", "output_size", "render_preview"]

_TARGET_PIXELS = 1024 * 1024

Colour = tuple[float, float, float]

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


def _has(words: str, *names: str) -> bool:
    """True when any of the names (words or phrases, simple plurals too) appears in the lower-case prompt."""
    return any(re.search(rf"\b{re.escape(name)}(?:s|es)?\b", words) for name in names)


def output_size(aspect_ratio: str | None) -> tuple[int, int]:
    """Width and height of about one megapixel at the ratio, both multiples of 16 (None means 1:1)."""
    ratio_name = aspect_ratio or DEFAULT_ASPECT_RATIO
    if ratio_name not in ASPECT_RATIOS:
        raise ValueError(f"unknown aspect ratio {ratio_name!r}")
    ratio = aspect_ratio_value(ratio_name)
    width = math.sqrt(_TARGET_PIXELS * ratio)
    height = width / ratio
    return max(16, round(width / 16) * 16), max(16, round(height / 16) * 16)


def _seed(prompt: str) -> int:
    """A stable seed from the prompt's text (Python's hash() changes between runs)."""
    return int.from_bytes(hashlib.sha256(prompt.encode("utf-8")).digest()[:8], "little")


def _mix(a: Colour, b: Colour, t: float) -> Colour:
    """Linear blend of two colours."""
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


class _Canvas:
    """A float RGB canvas (0..255) with helpers that paint colours through soft masks."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = np.zeros((height, width, 3), np.float32)
        self.unit = min(width, height) / 100.0  # one "percent" of the short side, for scale-free drawing

    def paint(self, mask: np.ndarray, colour: Colour | np.ndarray, opacity: float = 1.0) -> None:
        """Blend a colour (or an image) into the canvas through a 0..1 mask."""
        weight = (mask * opacity)[:, :, None]
        self.pixels += (np.asarray(colour, np.float32) - self.pixels) * weight

    def polygon_mask(self, points: np.ndarray) -> np.ndarray:
        """An antialiased 0..1 mask of a filled polygon given in pixel coordinates."""
        mask = np.zeros((self.height, self.width), np.uint8)
        cv2.fillPoly(mask, [np.round(points * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
        return mask.astype(np.float32) / 255.0

    def shapes_mask(self, draw: callable) -> np.ndarray:  # type: ignore[valid-type]
        """A 0..1 mask from a function that draws white shapes with OpenCV on a black uint8 image."""
        mask = np.zeros((self.height, self.width), np.uint8)
        draw(mask)
        return mask.astype(np.float32) / 255.0

    def smooth_noise(self, rng: np.random.Generator, cells: int) -> np.ndarray:
        """Smooth random field in 0..1, with about `cells` blobs across the short side."""
        short = max(2, cells)
        grid_w = max(2, round(short * self.width / min(self.width, self.height)))
        grid_h = max(2, round(short * self.height / min(self.width, self.height)))
        grid = rng.random((grid_h, grid_w)).astype(np.float32)
        return cv2.resize(grid, (self.width, self.height), interpolation=cv2.INTER_CUBIC).clip(0, 1)


class _Scene:
    """What the prompt asks to be drawn: time of day, elements, subject and palette."""

    def __init__(self, prompt: str) -> None:
        words = prompt.lower()
        self.night = _has(
            words,
            "night",
            "midnight",
            "moon",
            "moonlit",
            "moonlight",
            "stars",
            "starry",
            "galaxy",
            "nighttime",
            "neon",
            "cyberpunk",
        )
        self.sunset = not self.night and _has(words, "sunset", "dusk", "evening", "golden hour", "twilight")
        self.dawn = not (self.night or self.sunset) and _has(words, "sunrise", "dawn", "morning")
        self.neon = _has(words, "neon", "cyberpunk", "synthwave")
        self.moon = self.night and (_has(words, "moon", "moonlit", "moonlight") or not self.neon)
        self.sun = not self.night and _has(
            words, "sun", "sunny", "sunset", "sunrise", "dawn", "summer", "beach", "desert", "golden hour"
        )
        self.interior = _has(
            words,
            "library",
            "room",
            "bedroom",
            "kitchen",
            "cafe",
            "café",
            "interior",
            "office",
            "studio",
            "indoors",
            "inside",
            "shop",
            "classroom",
            "bookshelf",
        )
        self.books = _has(words, "library", "book", "bookshelf", "reading", "study")
        self.city = not self.interior and _has(
            words,
            "city",
            "skyline",
            "skyscraper",
            "building",
            "street",
            "town",
            "downtown",
            "metropolis",
            "cityscape",
            "tokyo",
        )
        self.water = not self.interior and _has(
            words,
            "sea",
            "ocean",
            "lake",
            "river",
            "water",
            "beach",
            "pond",
            "bay",
            "harbor",
            "harbour",
            "coast",
            "reflection",
        )
        self.mountains = not self.interior and _has(
            words, "mountain", "peak", "alps", "hill", "volcano", "valley", "canyon", "fuji", "landscape"
        )
        self.forest = not self.interior and _has(words, "forest", "tree", "woods", "jungle", "pine")
        self.blossoms = _has(
            words, "cherry blossom", "sakura", "blossom", "flower", "bloom", "garden", "spring"
        )
        self.garden = _has(words, "garden", "zen", "japanese", "temple", "pagoda")
        self.snow = _has(words, "snow", "snowy", "winter", "ice", "frozen", "arctic")
        self.desert = _has(words, "desert", "dune", "sand", "sahara")
        self.clouds = not self.interior and (_has(words, "cloud", "sky", "cloudy", "storm") or not self.night)
        self.rain = _has(words, "rain", "rainy", "storm")
        self.robot = _has(words, "robot", "android", "cyborg", "mech")
        self.animal = (
            "cat"
            if _has(words, "cat", "kitten", "fox")
            else ("dog" if _has(words, "dog", "puppy", "wolf") else "")
        )
        self.person = not self.robot and _has(
            words,
            "person",
            "man",
            "woman",
            "girl",
            "boy",
            "child",
            "astronaut",
            "knight",
            "people",
            "figure",
            "portrait",
        )
        self.colours = [COLOUR_WORDS[m.group(1).lower()] for m in _COLOUR_PATTERN.finditer(prompt)]
        self.landscape = (
            self.water or self.mountains or self.forest or self.city or self.desert or self.garden
        )
        self.abstract = not (
            self.landscape or self.interior or self.robot or self.animal or self.person or self.blossoms
        )


def _sky_colours(scene: _Scene) -> tuple[Colour, Colour]:
    """Top and horizon colours of the sky for the time of day, tinted by named colours."""
    if scene.night:
        top, horizon = (8, 10, 32), (44, 36, 92) if scene.neon else (30, 40, 80)
    elif scene.sunset:
        top, horizon = (58, 52, 120), (250, 150, 90)
    elif scene.dawn:
        top, horizon = (110, 145, 205), (250, 205, 180)
    else:
        top, horizon = (70, 135, 210), (190, 220, 242)
    if scene.snow and not scene.night:
        top, horizon = _mix(top, (200, 210, 225), 0.4), _mix(horizon, (235, 238, 242), 0.5)
    if scene.colours:
        top = _mix(top, scene.colours[0], 0.45)
        horizon = _mix(horizon, scene.colours[-1], 0.35)
    return top, horizon


def _draw_sky(canvas: _Canvas, scene: _Scene, rng: np.random.Generator, horizon_y: float) -> None:
    """Vertical gradient sky with clouds, stars, sun or moon."""
    top, horizon = _sky_colours(scene)
    rows = np.clip(np.linspace(0, 1, canvas.height, dtype=np.float32) / max(horizon_y, 0.05), 0, 1) ** 1.3
    gradient = (
        np.array(top, np.float32)
        + (np.array(horizon, np.float32) - np.array(top, np.float32)) * rows[:, None]
    )
    canvas.pixels[:] = gradient[:, None, :]
    if scene.night:
        count = int(canvas.width * canvas.height / 2500)
        xs = rng.integers(0, canvas.width, count)
        ys = (rng.random(count) ** 1.5 * horizon_y * canvas.height * 0.95).astype(int)
        bright = rng.random(count) * 180 + 75
        canvas.pixels[ys, xs] = np.maximum(canvas.pixels[ys, xs], bright[:, None])
    if scene.clouds:
        field = canvas.smooth_noise(rng, 6) * 0.6 + canvas.smooth_noise(rng, 18) * 0.4
        band = np.clip(1 - np.linspace(0, 1, canvas.height) / max(horizon_y, 0.05), 0, 1)[:, None]
        cloud = np.clip((field - 0.55) * 3.5, 0, 1) * band
        colour = (60, 60, 95) if scene.night else _mix(horizon, (255, 255, 255), 0.6)
        canvas.paint(cloud.astype(np.float32), colour, 0.8 if scene.rain else 0.6)
    if scene.sun or scene.moon:
        cx = canvas.width * (0.68 + rng.random() * 0.14)
        cy = canvas.height * horizon_y * (0.75 if scene.sunset or scene.dawn else 0.35)
        radius = canvas.unit * (9 if scene.sunset else 6)
        yy, xx = np.ogrid[: canvas.height, : canvas.width]
        dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2).astype(np.float32)
        colour = (236, 236, 222) if scene.moon else (255, 235, 180) if scene.sunset else (255, 250, 228)
        glow = np.exp(-((dist / (radius * 4)) ** 2)).astype(np.float32)
        canvas.paint(glow, colour, 0.35)
        canvas.paint(np.clip(radius - dist + 1, 0, 1), colour)


def _ridge(rng: np.random.Generator, width: int, roughness: float, peaks: int) -> np.ndarray:
    """A 1-D fractal ridge line in 0..1 across the width."""
    line = np.zeros(width, np.float32)
    amplitude, frequency = 1.0, max(2, peaks)
    for _ in range(5):
        knots = rng.random(frequency + 2).astype(np.float32)
        line += np.interp(np.linspace(0, frequency, width), np.arange(frequency + 2), knots) * amplitude
        amplitude *= roughness
        frequency *= 2
    line -= line.min()
    return line / max(float(line.max()), 1e-6)


def _draw_mountains(canvas: _Canvas, scene: _Scene, rng: np.random.Generator, horizon_y: float) -> None:
    """Two or three mountain ranges fading into the distance (aerial perspective)."""
    _, horizon = _sky_colours(scene)
    base = (30, 36, 60) if scene.night else (70, 85, 105)
    if scene.colours:
        base = _mix(base, scene.colours[0], 0.25)
    layers = 3
    for layer in range(layers):
        far = 1 - layer / layers
        ridge = _ridge(rng, canvas.width, 0.45, 3 + layer)
        top = horizon_y - (0.30 - layer * 0.07)
        heights = (top + (1 - ridge) * (0.22 - layer * 0.04)) * canvas.height
        xs = np.arange(canvas.width, dtype=np.float32)
        points = np.concatenate(
            [
                np.stack([xs, heights], 1),
                [[canvas.width, canvas.height * horizon_y + 2], [0, canvas.height * horizon_y + 2]],
            ]
        )
        colour = _mix(base, horizon, 0.55 * far)
        mask = canvas.polygon_mask(points.astype(np.float32))
        canvas.paint(mask, colour)
        if scene.snow or (layer == 0 and not scene.night and not scene.desert):
            snow_line = heights + canvas.height * 0.035
            yy = np.arange(canvas.height, dtype=np.float32)[:, None]
            cap = np.clip((snow_line[None, :] - yy) / 4, 0, 1) * mask
            canvas.paint(cap, _mix((245, 247, 252), horizon, 0.3 * far), 0.9)


def _draw_ground(canvas: _Canvas, scene: _Scene, rng: np.random.Generator, horizon_y: float) -> None:
    """Ground below the horizon: grass, sand, snow or a night street, with gentle texture."""
    if scene.snow:
        near, far = (225, 232, 242), (195, 205, 222)
    elif scene.desert or (scene.water and not scene.city):
        near, far = (222, 196, 150), (200, 170, 125)
    elif scene.city:
        near, far = (45, 45, 55), (70, 70, 85)
    else:
        near, far = (70, 125, 60), (120, 160, 90)
    if scene.night:
        near, far = _mix(near, (10, 12, 25), 0.7), _mix(far, (10, 12, 25), 0.6)
    elif scene.sunset:
        near, far = _mix(near, (90, 50, 60), 0.4), _mix(far, (250, 150, 90), 0.3)
    if scene.colours and not scene.city:
        near = _mix(near, scene.colours[-1], 0.25)
    start = int(horizon_y * canvas.height)
    rows = np.linspace(0, 1, canvas.height - start, dtype=np.float32)[:, None]
    ground = np.array(far, np.float32) + (np.array(near, np.float32) - np.array(far, np.float32)) * rows
    texture = (canvas.smooth_noise(rng, 40)[start:] - 0.5) * 24
    canvas.pixels[start:] = ground[:, None, :] + texture[:, :, None]


def _draw_water(
    canvas: _Canvas, scene: _Scene, rng: np.random.Generator, horizon_y: float, water_top: float
) -> None:
    """Water from water_top down: the sky mirrored and darkened, with horizontal ripples."""
    start = int(water_top * canvas.height)
    source_top = max(0, 2 * start - canvas.height)
    mirrored = canvas.pixels[source_top:start][::-1]
    span = canvas.height - start
    reflection = np.zeros((span, canvas.width, 3), np.float32)
    reflection[: mirrored.shape[0]] = mirrored
    if mirrored.shape[0] < span:
        reflection[mirrored.shape[0] :] = mirrored[-1] if mirrored.shape[0] else 0
    tint = np.array((20, 60, 90) if not scene.night else (5, 10, 25), np.float32)
    depth = np.linspace(0.25, 0.6, span, dtype=np.float32)[:, None, None]
    water = reflection * (1 - depth) + tint * depth
    ripples = np.sin(
        np.arange(span, dtype=np.float32)[:, None] ** 1.15 * 0.9 + canvas.smooth_noise(rng, 30)[start:] * 12
    )
    water += (ripples[:, :, None] * 10).astype(np.float32)
    canvas.pixels[start:] = water


def _draw_city(canvas: _Canvas, scene: _Scene, rng: np.random.Generator, horizon_y: float) -> None:
    """A skyline of towers with lit windows, and neon signs when the prompt asks for them."""
    ground = horizon_y * canvas.height
    neon = [(255, 60, 200), (40, 230, 255), (150, 80, 255), (255, 120, 40)]
    if scene.colours:
        neon = list(scene.colours) + neon[: max(0, 4 - len(scene.colours))]
    window_colour = (255, 215, 140) if scene.night else (150, 180, 210)
    for layer, shade in enumerate((0.55, 0.8, 1.0)):
        x = -rng.random() * 40
        while x < canvas.width:
            w = canvas.unit * (5 + rng.random() * 9)
            h = canvas.height * (0.12 + rng.random() * (0.22 + 0.12 * (2 - layer)))
            top = ground - h
            base = (20, 22, 40) if scene.night else (90, 100, 120)
            colour = _mix(base, _sky_colours(scene)[1], 0.5 * (1 - shade))
            x0, x1, y0 = int(x), int(x + w), int(top)
            canvas.pixels[max(0, y0) : int(ground), max(0, x0) : max(0, x1)] = colour
            if layer == 2 or scene.night:
                step_x, step_y = max(4, int(canvas.unit * 1.4)), max(5, int(canvas.unit * 1.8))
                for wy in range(y0 + step_y, int(ground) - step_y, step_y):
                    lit = rng.random(max(1, (x1 - x0) // step_x)) < (0.45 if scene.night else 0.9)
                    for i, on in enumerate(lit):
                        wx = x0 + step_x // 2 + i * step_x
                        if on and 0 <= wx < canvas.width - 3 and wy >= 0:
                            bright = window_colour if scene.night else _mix(colour, window_colour, 0.5)
                            canvas.pixels[wy : wy + step_y // 2, wx : wx + max(2, step_x // 2)] = bright
            if scene.neon and layer == 2 and rng.random() < 0.55:
                sign = neon[int(rng.integers(len(neon)))]
                sy = int(top + h * (0.15 + rng.random() * 0.4))
                mask = canvas.shapes_mask(
                    lambda m, x0=x0, x1=x1, sy=sy: cv2.rectangle(
                        m, (x0 + 3, sy), (x1 - 3, sy + int(canvas.unit * 1.5)), 255, -1
                    )
                )
                glow = cv2.GaussianBlur(mask, (0, 0), canvas.unit * 2)
                canvas.paint(np.clip(glow * 2.0, 0, 1), sign, 0.7)
                canvas.paint(mask, _mix(sign, (255, 255, 255), 0.4))
            x += w + canvas.unit * rng.random() * 2


def _draw_trees(canvas: _Canvas, scene: _Scene, rng: np.random.Generator, horizon_y: float) -> None:
    """Rows of conifers along the horizon, larger and darker toward the viewer."""
    base = (25, 60, 40) if not scene.night else (8, 18, 20)
    if scene.snow:
        base = (50, 75, 70)
    for row in range(3):
        size = canvas.unit * (4 + row * 3)
        y_base = canvas.height * (horizon_y + row * 0.06)
        colour = _mix(base, _sky_colours(scene)[1], 0.45 * (2 - row) / 2)
        x = -rng.random() * size
        points = []
        while x < canvas.width + size:
            h = size * (2.2 + rng.random() * 1.5)
            points.append(
                np.array([[x - size * 0.6, y_base], [x, y_base - h], [x + size * 0.6, y_base]], np.float32)
            )
            x += size * (0.5 + rng.random() * 0.8)
        mask = np.zeros((canvas.height, canvas.width), np.uint8)
        cv2.fillPoly(mask, [np.round(p * 16).astype(np.int32) for p in points], 255, cv2.LINE_AA, shift=4)
        canvas.paint(mask.astype(np.float32) / 255, colour)


def _draw_blossoms(canvas: _Canvas, scene: _Scene, rng: np.random.Generator, horizon_y: float) -> None:
    """A blossoming tree at one side with drifting petals."""
    petal = scene.colours[0] if scene.colours else (246, 178, 200)
    trunk_colour = (60, 40, 35) if not scene.night else (20, 15, 20)
    side = 0.18 if rng.random() < 0.5 else 0.82
    trunk_x, ground = canvas.width * side, canvas.height * min(0.98, horizon_y + 0.25)
    crown_y = canvas.height * 0.3
    trunk = canvas.shapes_mask(
        lambda m: cv2.line(
            m,
            (int(trunk_x), int(ground)),
            (int(trunk_x + canvas.unit * 4), int(crown_y + canvas.unit * 8)),
            255,
            max(3, int(canvas.unit * 2.5)),
            cv2.LINE_AA,
        )
    )
    canvas.paint(trunk, trunk_colour)
    clusters = np.zeros((canvas.height, canvas.width), np.uint8)
    for _ in range(70):
        cx = trunk_x + (rng.random() - 0.5) * canvas.unit * 55
        cy = crown_y + (rng.random() - 0.5) * canvas.unit * 30
        cv2.circle(
            clusters, (int(cx), int(cy)), int(canvas.unit * (2 + rng.random() * 4)), 255, -1, cv2.LINE_AA
        )
    mask = cv2.GaussianBlur(clusters, (0, 0), canvas.unit * 0.4).astype(np.float32) / 255
    shade = canvas.smooth_noise(rng, 30)[:, :, None]
    colour = np.array(petal, np.float32) * (0.8 + 0.3 * shade)
    canvas.paint(mask, np.clip(colour, 0, 255))
    petals = np.zeros((canvas.height, canvas.width), np.uint8)
    for _ in range(120):
        px, py = rng.random() * canvas.width, rng.random() * canvas.height
        cv2.ellipse(
            petals,
            (int(px), int(py)),
            (max(1, int(canvas.unit * 0.5)), max(1, int(canvas.unit * 0.3))),
            rng.random() * 180,
            0,
            360,
            255,
            -1,
            cv2.LINE_AA,
        )
    canvas.paint(petals.astype(np.float32) / 255, _mix(petal, (255, 255, 255), 0.3), 0.85)


def _draw_garden(canvas: _Canvas, scene: _Scene, rng: np.random.Generator, horizon_y: float) -> None:
    """A small pagoda-roofed pavilion and raked stones: the vocabulary of a Japanese garden."""
    cx, base = canvas.width * (0.42 + rng.random() * 0.1), canvas.height * (horizon_y + 0.02)
    u = canvas.unit
    roof = (70, 40, 40) if not scene.night else (25, 15, 20)
    wall = (190, 80, 55) if not scene.night else (60, 30, 30)
    for tier in range(3):
        width, y = u * (16 - tier * 4), base - u * (5 + tier * 7)
        body = np.array(
            [
                [cx - width * 0.35, y],
                [cx + width * 0.35, y],
                [cx + width * 0.35, y + u * 5],
                [cx - width * 0.35, y + u * 5],
            ],
            np.float32,
        )
        canvas.paint(canvas.polygon_mask(body), wall)
        eave = np.array(
            [
                [cx - width * 0.75, y + u * 0.8],
                [cx - width * 0.3, y - u * 2.2],
                [cx + width * 0.3, y - u * 2.2],
                [cx + width * 0.75, y + u * 0.8],
            ],
            np.float32,
        )
        canvas.paint(canvas.polygon_mask(eave), roof)
    for _ in range(5):
        sx, sy = rng.random() * canvas.width, canvas.height * (horizon_y + 0.08 + rng.random() * 0.25)
        stone = canvas.shapes_mask(
            lambda m, sx=sx, sy=sy: cv2.ellipse(
                m,
                (int(sx), int(sy)),
                (int(u * (3 + rng.random() * 3)), int(u * (1.5 + rng.random()))),
                0,
                0,
                360,
                255,
                -1,
                cv2.LINE_AA,
            )
        )
        canvas.paint(stone, (95, 95, 100) if not scene.night else (35, 35, 45))


def _draw_interior(canvas: _Canvas, scene: _Scene, rng: np.random.Generator) -> None:
    """A warm room: back wall, floor, a window, and bookshelves when books are mentioned."""
    wall, floor = (120, 85, 60), (80, 50, 35)
    if scene.colours:
        wall = _mix(wall, scene.colours[0], 0.4)
    floor_y = int(canvas.height * 0.72)
    canvas.pixels[:floor_y] = wall
    canvas.pixels[floor_y:] = floor
    planks = (np.sin(np.arange(canvas.width, dtype=np.float32) / (canvas.unit * 2.5)) > 0.95)[None, :, None]
    canvas.pixels[floor_y:] -= planks * 18
    u = canvas.unit
    if scene.books:
        palette = [
            (150, 40, 40),
            (40, 80, 130),
            (60, 110, 60),
            (170, 130, 50),
            (100, 60, 110),
            (190, 170, 140),
        ]
        if scene.colours:
            palette = list(scene.colours) + palette
        shelf_colour = (70, 42, 25)
        for shelf_x0, shelf_x1 in ((0.03, 0.33), (0.67, 0.97)):
            x0, x1 = int(canvas.width * shelf_x0), int(canvas.width * shelf_x1)
            canvas.pixels[int(canvas.height * 0.08) : floor_y, x0:x1] = shelf_colour
            for row in range(5):
                y_bottom = int(canvas.height * (0.08 + (row + 1) * 0.125))
                y_top = y_bottom - int(canvas.height * 0.1)
                x = x0 + int(u)
                while x < x1 - int(u * 2):
                    width = int(u * (1.2 + rng.random() * 1.3))
                    top = y_top + int(rng.random() * u * 2.5)
                    colour = palette[int(rng.integers(len(palette)))]
                    canvas.pixels[top:y_bottom, x : min(x + width, x1 - int(u))] = _mix(
                        colour, (0, 0, 0), rng.random() * 0.3
                    )
                    x += width + 1
    else:
        wx0, wx1 = int(canvas.width * 0.6), int(canvas.width * 0.85)
        sky = (40, 50, 90) if scene.night else (170, 205, 235)
        canvas.pixels[int(canvas.height * 0.15) : int(canvas.height * 0.5), wx0:wx1] = sky
    # A lamp's warm pool of light makes the room read as lived-in.
    yy, xx = np.ogrid[: canvas.height, : canvas.width]
    lamp = np.exp(
        -(
            ((xx - canvas.width * 0.5) / (canvas.width * 0.35)) ** 2
            + ((yy - canvas.height * 0.35) / (canvas.height * 0.4)) ** 2
        )
    ).astype(np.float32)
    canvas.paint(lamp, (255, 210, 140), 0.35)


def _draw_subject(canvas: _Canvas, scene: _Scene, rng: np.random.Generator, ground_y: float) -> None:
    """A simple, readable figure for robots, people and pets, standing on the ground line."""
    u = canvas.unit
    cx, base = canvas.width * 0.5, canvas.height * ground_y
    masks: list[tuple[np.ndarray, Colour]] = []
    if scene.robot:
        metal = scene.colours[0] if scene.colours else (170, 180, 195)
        body = canvas.shapes_mask(
            lambda m: cv2.rectangle(
                m, (int(cx - u * 9), int(base - u * 24)), (int(cx + u * 9), int(base - u * 4)), 255, -1
            )
        )
        head = canvas.shapes_mask(
            lambda m: cv2.rectangle(
                m, (int(cx - u * 7), int(base - u * 37)), (int(cx + u * 7), int(base - u * 26)), 255, -1
            )
        )
        legs = canvas.shapes_mask(
            lambda m: (
                cv2.rectangle(m, (int(cx - u * 7), int(base - u * 5)), (int(cx - u * 3), int(base)), 255, -1),
                cv2.rectangle(m, (int(cx + u * 3), int(base - u * 5)), (int(cx + u * 7), int(base)), 255, -1),
            )
        )
        antenna = canvas.shapes_mask(
            lambda m: (
                cv2.line(
                    m, (int(cx), int(base - u * 37)), (int(cx), int(base - u * 41)), 255, max(2, int(u * 0.6))
                ),
                cv2.circle(m, (int(cx), int(base - u * 42)), int(u * 1.3), 255, -1, cv2.LINE_AA),
            )
        )
        eyes = canvas.shapes_mask(
            lambda m: (
                cv2.circle(m, (int(cx - u * 3), int(base - u * 32)), int(u * 1.6), 255, -1, cv2.LINE_AA),
                cv2.circle(m, (int(cx + u * 3), int(base - u * 32)), int(u * 1.6), 255, -1, cv2.LINE_AA),
            )
        )
        masks += [
            (legs, _mix(metal, (0, 0, 0), 0.35)),
            (body, metal),
            (head, _mix(metal, (255, 255, 255), 0.2)),
            (antenna, _mix(metal, (0, 0, 0), 0.2)),
            (eyes, (90, 220, 255)),
        ]
        if scene.books:
            book = canvas.shapes_mask(
                lambda m: cv2.rectangle(
                    m, (int(cx - u * 8), int(base - u * 19)), (int(cx + u * 8), int(base - u * 12)), 255, -1
                )
            )
            masks.append((book, (160, 50, 45)))
            pages = canvas.shapes_mask(
                lambda m: cv2.rectangle(
                    m, (int(cx - u * 7), int(base - u * 18.5)), (int(cx + u * 7), int(base - u * 13)), 255, -1
                )
            )
            masks.append((pages, (245, 238, 220)))
    elif scene.animal:
        fur = (
            scene.colours[0]
            if scene.colours
            else ((230, 140, 60) if scene.animal == "cat" else (150, 100, 60))
        )
        body = canvas.shapes_mask(
            lambda m: cv2.ellipse(
                m, (int(cx), int(base - u * 8)), (int(u * 13), int(u * 8)), 0, 0, 360, 255, -1, cv2.LINE_AA
            )
        )
        head = canvas.shapes_mask(
            lambda m: cv2.circle(
                m, (int(cx + u * 11), int(base - u * 17)), int(u * 6.5), 255, -1, cv2.LINE_AA
            )
        )
        ear_points = [
            [cx + u * 6, base - u * 20],
            [cx + u * 8, base - u * 29],
            [cx + u * 11, base - u * 22],
            [cx + u * 12, base - u * 22],
            [cx + u * 15, base - u * 29],
            [cx + u * 16.5, base - u * 19],
        ]
        ears = canvas.polygon_mask(np.array(ear_points[:3], np.float32)) + canvas.polygon_mask(
            np.array(ear_points[3:], np.float32)
        )
        tail = canvas.shapes_mask(
            lambda m: cv2.ellipse(
                m,
                (int(cx - u * 14), int(base - u * 14)),
                (int(u * 3), int(u * 9)),
                -20,
                0,
                360,
                255,
                -1,
                cv2.LINE_AA,
            )
        )
        masks += [
            (tail, fur),
            (body, fur),
            (np.clip(ears, 0, 1), fur),
            (head, _mix(fur, (255, 255, 255), 0.1)),
        ]
    elif scene.person:
        coat = scene.colours[0] if scene.colours else (60, 70, 110)
        body = canvas.polygon_mask(
            np.array(
                [
                    [cx - u * 8, base],
                    [cx - u * 5, base - u * 26],
                    [cx + u * 5, base - u * 26],
                    [cx + u * 8, base],
                ],
                np.float32,
            )
        )
        head = canvas.shapes_mask(
            lambda m: cv2.circle(m, (int(cx), int(base - u * 31)), int(u * 5), 255, -1, cv2.LINE_AA)
        )
        masks += [(body, coat), (head, (225, 185, 150))]
    if not masks:
        return
    silhouette = np.clip(sum(mask for mask, _ in masks), 0, 1)
    shadow = cv2.GaussianBlur(silhouette, (0, 0), u * 1.5)
    shadow = np.roll(shadow, (int(u), int(u * 1.5)), (0, 1))
    canvas.paint(shadow, (0, 0, 0), 0.35)
    for mask, colour in masks:
        canvas.paint(mask, colour)


def _draw_abstract(canvas: _Canvas, scene: _Scene, rng: np.random.Generator) -> None:
    """Soft overlapping discs and bands in the prompt's palette over a gradient."""
    palette = scene.colours or [tuple(float(v) for v in rng.integers(40, 230, 3)) for _ in range(3)]
    first, last = palette[0], palette[-1]
    rows = np.linspace(0, 1, canvas.height, dtype=np.float32)[:, None, None]
    canvas.pixels[:] = (
        np.array(_mix(first, (15, 15, 25), 0.55), np.float32) * (1 - rows)
        + np.array(_mix(last, (250, 250, 250), 0.25), np.float32) * rows
    )
    for index in range(9):
        colour = palette[index % len(palette)]
        colour = _mix(colour, (255, 255, 255), rng.random() * 0.35)
        cx, cy = rng.random() * canvas.width, rng.random() * canvas.height
        radius = canvas.unit * (8 + rng.random() * 22)
        mask = canvas.shapes_mask(
            lambda m, cx=cx, cy=cy, r=radius: cv2.circle(m, (int(cx), int(cy)), int(r), 255, -1, cv2.LINE_AA)
        )
        canvas.paint(mask, colour, 0.55 + rng.random() * 0.35)


def _label(image: Image.Image) -> Image.Image:
    """A small, unobtrusive 'Preview' label in the lower right corner."""
    size = max(12, image.height // 48)
    font = ImageFont.load_default(size=size)
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    text = "Preview"
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = size // 2
    x1, y1 = image.width - pad, image.height - pad
    x0, y0 = x1 - (right - left) - 2 * pad, y1 - (bottom - top) - 2 * pad
    draw.rounded_rectangle((x0, y0, x1, y1), radius=pad, fill=(0, 0, 0, 110))
    draw.text((x0 + pad - left, y0 + pad - top), text, font=font, fill=(255, 255, 255, 220))
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def render_preview(prompt: str, width: int, height: int) -> Image.Image:
    """A deterministic RGB preview of the prompt: a scene built from its words, styled as it asks."""
    rng = np.random.default_rng(_seed(prompt))
    scene = _Scene(prompt)
    canvas = _Canvas(width, height)
    if scene.interior:
        _draw_interior(canvas, scene, rng)
        ground_y = 0.9
    elif scene.abstract:
        _draw_abstract(canvas, scene, rng)
        ground_y = 0.85
    else:
        horizon_y = 0.55 if scene.water else 0.62
        _draw_sky(canvas, scene, rng, horizon_y)
        if scene.mountains:
            _draw_mountains(canvas, scene, rng, horizon_y)
        _draw_ground(canvas, scene, rng, horizon_y)
        if scene.city:
            _draw_city(canvas, scene, rng, horizon_y)
        if scene.forest:
            _draw_trees(canvas, scene, rng, horizon_y)
        if scene.water:
            _draw_water(canvas, scene, rng, horizon_y, horizon_y + (0.08 if scene.city else 0.0))
        if scene.garden and not scene.city:
            _draw_garden(canvas, scene, rng, horizon_y)
        if scene.blossoms:
            _draw_blossoms(canvas, scene, rng, horizon_y)
        ground_y = 0.9
    _draw_subject(canvas, scene, rng, ground_y)
    pixels = np.clip(canvas.pixels, 0, 255).astype(np.uint8)
    pixels = apply_style(style_of(prompt), pixels, rng)
    return _label(Image.fromarray(pixels, "RGB"))
