"""Rendering styles shared by previews and edits: watercolor, pixel art, noir, sketch, sepia and more."""

from __future__ import annotations

import re

import cv2
import numpy as np

# The one list of style names and the words that ask for them, for previews and edits alike, most
# specific first ("oil painting" before "painting"; "noir" before "black and white").
STYLE_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "pixel",
        re.compile(
            r"\b(pixel[\s-]?art|pixelated|pixelate|pixelize|8[\s-]?bit|16[\s-]?bit|retro game|mosaic)\b", re.I
        ),
    ),
    ("watercolor", re.compile(r"\b(watercolou?rs?|aquarelle|gouache)\b", re.I)),
    ("sketch", re.compile(r"\b(sketch|pencil|charcoal|graphite|line art|drawing|ink drawing)\b", re.I)),
    ("noir", re.compile(r"\b(noir)\b", re.I)),
    (
        "grayscale",
        re.compile(
            r"\b(black[\s-]and[\s-]white|b&w|monochrome|grayscale|greyscale|gr[ae]y scale|no colou?r)\b", re.I
        ),
    ),
    ("sepia", re.compile(r"\b(sepia|vintage|old photo|antique|daguerreotype)\b", re.I)),
    (
        "oil",
        re.compile(
            r"\b(oil painting|oil on canvas|impasto|painterly|painting|painted|impressionis[mt])\b", re.I
        ),
    ),
    ("posterize", re.compile(r"\b(posteri[sz]e|posteri[sz]ed|pop art|poster)\b", re.I)),
    (
        "minimalist",
        re.compile(r"\b(minimalist|minimal|minimalism|flat design|flat illustration|vector)\b", re.I),
    ),
)


def style_of(prompt: str) -> str | None:
    """The rendering style a prompt asks for, or None for the default finish."""
    return next((name for name, pattern in STYLE_WORDS if pattern.search(prompt)), None)


def grayscale(pixels: np.ndarray) -> np.ndarray:
    """Luma as three equal channels (R = G = B)."""
    luma = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    return np.repeat(luma[:, :, None], 3, axis=2)


def sepia(pixels: np.ndarray) -> np.ndarray:
    """Warm brown monochrome, like an old print."""
    luma = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY).astype(np.float32)[:, :, None] / 255.0
    tone = np.array([255, 225, 180], np.float32) * luma + np.array([20, 8, 0], np.float32) * (1 - luma)
    return np.clip(tone, 0, 255).astype(np.uint8)


def pixelate(pixels: np.ndarray, cells_across: int = 96, colours: int | None = 24) -> np.ndarray:
    """Big square pixels (and a reduced palette when colours is given), same size as the input."""
    height, width = pixels.shape[:2]
    cell = max(2, round(max(width, height) / cells_across))
    small = cv2.resize(pixels, (max(1, width // cell), max(1, height // cell)), interpolation=cv2.INTER_AREA)
    if colours:
        small = posterize_kmeans(small, colours)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)


def posterize_kmeans(pixels: np.ndarray, colours: int) -> np.ndarray:
    """The image drawn with its `colours` most representative colours (deterministic k-means)."""
    # Fit on a sparse grid of pixels, then map every pixel to its nearest centre: same look, far faster.
    step = max(1, round((pixels.shape[0] * pixels.shape[1] / 40_000) ** 0.5))
    samples = pixels[::step, ::step].reshape(-1, 3).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    cv2.setRNGSeed(7)
    count = min(colours, len(samples))
    _, _, centres = cv2.kmeans(samples, count, None, criteria, 1, cv2.KMEANS_PP_CENTERS)  # type: ignore[call-overload]  # the stubs omit the documented None
    flat = pixels.reshape(-1, 3).astype(np.float32)
    distances = (flat**2).sum(1)[:, None] - 2 * flat @ centres.T + (centres**2).sum(1)[None, :]
    return np.clip(centres[distances.argmin(1)], 0, 255).astype(np.uint8).reshape(pixels.shape)


def watercolor(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Soft washes: flattened colour, darker pigment at edges, pale paper showing through with grain."""
    height, width = pixels.shape[:2]
    small = cv2.resize(pixels, (max(1, width // 2), max(1, height // 2)), interpolation=cv2.INTER_AREA)
    washed = cv2.edgePreservingFilter(small, flags=cv2.RECURS_FILTER, sigma_s=25, sigma_r=0.35)
    washed = cv2.resize(washed, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    edges = cv2.Canny(cv2.cvtColor(washed.astype(np.uint8), cv2.COLOR_RGB2GRAY), 30, 90)
    edges = cv2.GaussianBlur(edges.astype(np.float32) / 255, (0, 0), 1.2)[:, :, None]
    paper = np.array([250, 246, 236], np.float32)
    grain = cv2.resize(rng.random((height // 3 + 1, width // 3 + 1)).astype(np.float32), (width, height))
    grain = cv2.GaussianBlur(grain, (0, 0), 1.0)[:, :, None]
    washed = washed * 0.78 + paper * 0.22  # pigment is translucent: the paper lifts every colour
    washed = washed * (1 - 0.35 * edges) + washed * 0.6 * 0.35 * edges
    washed *= 0.93 + 0.1 * grain
    return np.clip(washed, 0, 255).astype(np.uint8)


def sketch(pixels: np.ndarray) -> np.ndarray:
    """Pencil on paper: a colour dodge of the luma by its blurred negative."""
    gray = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY).astype(np.float32)
    blurred = cv2.GaussianBlur(255 - gray, (0, 0), max(2.0, pixels.shape[1] / 300))
    dodge = np.clip(gray * 255 / np.maximum(255 - blurred, 1), 0, 255)
    dodge = 255 - (255 - dodge) * 1.4
    shaded = np.clip(dodge, 0, 255).astype(np.uint8)
    return np.repeat(shaded[:, :, None], 3, axis=2)


def oil_paint(pixels: np.ndarray) -> np.ndarray:
    """Broad brush strokes: edge-preserving smoothing plus a touch of emboss for paint relief."""
    height, width = pixels.shape[:2]
    small = cv2.resize(pixels, (max(1, width // 2), max(1, height // 2)), interpolation=cv2.INTER_AREA)
    smooth = cv2.edgePreservingFilter(small, flags=cv2.RECURS_FILTER, sigma_s=12, sigma_r=0.25)
    smooth = cv2.resize(smooth, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    gray = cv2.cvtColor(smooth.astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32)
    relief = cv2.filter2D(gray, -1, np.array([[-1, -1, 0], [-1, 0, 1], [0, 1, 1]], np.float32))
    return np.clip(smooth + relief[:, :, None] * 0.15, 0, 255).astype(np.uint8)


def vignette(pixels: np.ndarray, strength: float = 0.25) -> np.ndarray:
    """Gently darkened corners that hold the eye in the frame."""
    height, width = pixels.shape[:2]
    yy = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
    xx = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
    falloff = 1 - strength * np.clip((xx**2 + yy**2) / 2, 0, 1) ** 1.5
    return np.clip(pixels.astype(np.float32) * falloff[:, :, None], 0, 255).astype(np.uint8)


def noir(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """High-contrast black and white with film grain and a strong vignette."""
    gray = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray = np.clip((gray - 128) * 1.35 + 120, 0, 255)
    grain = rng.normal(0, 6, gray.shape).astype(np.float32)
    gray = np.clip(gray + grain, 0, 255).astype(np.uint8)
    return vignette(np.repeat(gray[:, :, None], 3, axis=2), 0.45)


def apply_style(style: str | None, pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The RGB uint8 image rendered in the named style (None: a soft, finished look)."""
    if style == "pixel":
        return pixelate(pixels, cells_across=128, colours=16)
    if style == "watercolor":
        return watercolor(pixels, rng)
    if style == "sketch":
        return sketch(pixels)
    if style in ("noir", "grayscale"):
        return noir(pixels, rng)
    if style == "sepia":
        return vignette(sepia(pixels), 0.4)
    if style == "oil":
        return oil_paint(pixels)
    if style == "minimalist":
        return posterize_kmeans(pixels, 6)
    if style == "posterize":
        return posterize_kmeans(pixels, 8)
    soft = cv2.GaussianBlur(pixels, (0, 0), max(0.6, pixels.shape[1] / 1600))
    return vignette(soft, 0.22)
