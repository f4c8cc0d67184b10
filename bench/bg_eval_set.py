"""Background-removal evaluation set: foregrounds with exact alpha composited over four background kinds.

Every foreground is synthesised here (shapes, text, strands, textures cut from scikit-image's sample
photos with masks we draw), so its alpha is exact by construction. Each is composited over a studio
colour, a gradient, a texture and a busy photo, then given sensor noise and a JPEG round trip.
Shadows darken the background and count as background (alpha 0).

    python -m bench.bg_eval_set            # writes bench/.data/bg_eval/ (about 60 MB, ignored by git)
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage import data as samples

DATA_DIR = Path(__file__).resolve().parent / ".data" / "bg_eval"
BACKGROUND_KINDS = ("studio", "gradient", "texture", "photo")
SIZES = ((1152, 896), (1024, 1024), (896, 1152), (1216, 832), (1088, 960))
NOISE_SIGMA = 2.5
JPEG_QUALITY = 88


@dataclass(frozen=True)
class Layer:
    """A foreground: colour (H, W, 3) float 0..255, alpha (H, W) 0..1, and a shadow it casts (0..1)."""

    colour: np.ndarray
    alpha: np.ndarray
    shadow: np.ndarray


@dataclass(frozen=True)
class Case:
    """One composite with its ground truth."""

    name: str
    background_kind: str
    foreground_kind: str
    image: np.ndarray  # uint8 RGB after noise and JPEG round trip
    jpeg: bytes  # the JPEG the image decodes from
    alpha: np.ndarray  # uint8 ground-truth alpha
    foreground: np.ndarray  # uint8 RGB true foreground colour (for edge-colour checks)
    background: np.ndarray  # uint8 RGB background with shadows, before compositing


def _cover(image: np.ndarray, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """Resize an image to cover width x height and crop a random window of that size."""
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    scale = max(width / image.shape[1], height / image.shape[0]) * (1 + 0.3 * rng.random())
    resized = cv2.resize(
        image,
        (int(np.ceil(image.shape[1] * scale)), int(np.ceil(image.shape[0] * scale))),
        interpolation=cv2.INTER_CUBIC,
    )
    y = int(rng.integers(0, resized.shape[0] - height + 1))
    x = int(rng.integers(0, resized.shape[1] - width + 1))
    return resized[y : y + height, x : x + width].astype(np.float32)


def _aa_mask(height: int, width: int, draw: Callable[[np.ndarray], object]) -> np.ndarray:
    """A 0..1 antialiased mask from OpenCV drawing calls on a uint8 canvas."""
    mask = np.zeros((height, width), np.uint8)
    draw(mask)
    return mask.astype(np.float32) / 255.0


def _shading(alpha: np.ndarray, strength: float, light: tuple[float, float] = (-0.4, -0.6)) -> np.ndarray:
    """Soft 3-D looking shading: darker toward the silhouette's edge and away from the light."""
    inside = (alpha > 0.5).astype(np.uint8)
    distance = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
    depth = np.clip(distance / max(float(distance.max()), 1.0), 0, 1) ** 0.5
    height, width = alpha.shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    directional = (xx / width - 0.5) * light[0] + (yy / height - 0.5) * light[1]
    return (1 - strength + strength * depth + directional * strength)[:, :, None]


def _person(rng: np.random.Generator, width: int, height: int) -> Layer:
    """Head and shoulders cut by the bottom edge, with soft hair strands at the top of the head."""
    cx = width * rng.uniform(0.4, 0.6)
    head_r = height * rng.uniform(0.11, 0.14)
    head_y = height * rng.uniform(0.34, 0.42)
    shoulder_y = head_y + head_r * 2.1
    half = width * rng.uniform(0.24, 0.32)
    torso = np.array(
        [
            [cx - head_r * 0.45, head_y + head_r * 0.8],
            [cx + head_r * 0.45, head_y + head_r * 0.8],
            [cx + head_r * 0.5, shoulder_y - head_r * 0.4],
            [cx + half * 0.8, shoulder_y],
            [cx + half, shoulder_y + head_r * 0.6],
            [cx + half * 1.05, height + 5],
            [cx - half * 1.05, height + 5],
            [cx - half, shoulder_y + head_r * 0.6],
            [cx - half * 0.8, shoulder_y],
            [cx - head_r * 0.5, shoulder_y - head_r * 0.4],
        ],
        np.float32,
    )
    body = _aa_mask(
        height,
        width,
        lambda m: cv2.fillPoly(m, [np.round(torso * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4),
    )
    head = _aa_mask(
        height,
        width,
        lambda m: cv2.ellipse(
            m, (int(cx), int(head_y)), (int(head_r * 0.82), int(head_r)), 0, 0, 360, 255, -1, cv2.LINE_AA
        ),
    )
    skin = np.array(rng.choice([(232, 190, 160), (198, 140, 100), (140, 95, 65), (90, 60, 45)]), np.float32)
    cloth = np.array(
        rng.choice([(40, 60, 120), (150, 30, 40), (60, 60, 60), (220, 220, 215), (40, 110, 70)]), np.float32
    )
    fabric = _cover(samples.gravel(), width, height, rng)[:, :, :1] / 255.0
    colour = cloth * (0.75 + 0.5 * fabric) * _shading(body, 0.35)
    colour = colour * (1 - head[:, :, None]) + skin * _shading(head, 0.4) * head[:, :, None]
    features = _aa_mask(
        height,
        width,
        lambda m: (
            cv2.ellipse(
                m,
                (int(cx - head_r * 0.3), int(head_y - head_r * 0.05)),
                (int(head_r * 0.12), int(head_r * 0.06)),
                0,
                0,
                360,
                255,
                -1,
                cv2.LINE_AA,
            ),
            cv2.ellipse(
                m,
                (int(cx + head_r * 0.3), int(head_y - head_r * 0.05)),
                (int(head_r * 0.12), int(head_r * 0.06)),
                0,
                0,
                360,
                255,
                -1,
                cv2.LINE_AA,
            ),
            cv2.ellipse(
                m,
                (int(cx), int(head_y + head_r * 0.45)),
                (int(head_r * 0.25), int(head_r * 0.08)),
                0,
                0,
                180,
                255,
                -1,
                cv2.LINE_AA,
            ),
        ),
    )
    colour = colour * (1 - features[:, :, None] * 0.7)
    hair_colour = np.array(
        rng.choice([(30, 22, 18), (90, 60, 30), (200, 160, 90), (120, 40, 20)]), np.float32
    )
    cap = _aa_mask(
        height,
        width,
        lambda m: cv2.ellipse(
            m,
            (int(cx), int(head_y - head_r * 0.25)),
            (int(head_r * 0.95), int(head_r * 0.85)),
            0,
            180,
            360,
            255,
            -1,
            cv2.LINE_AA,
        ),
    )
    strands = np.zeros((height, width), np.float32)
    for _ in range(500):
        angle = rng.uniform(np.pi * 1.05, np.pi * 1.95)
        start = (cx + np.cos(angle) * head_r * 0.9, head_y - head_r * 0.25 + np.sin(angle) * head_r * 0.8)
        length = head_r * rng.uniform(0.1, 0.45)
        bend = angle + rng.normal(0, 0.25)
        end = (start[0] + np.cos(bend) * length, start[1] + np.sin(bend) * length)
        line = np.zeros((height, width), np.uint8)
        cv2.line(
            line,
            (int(start[0] * 16), int(start[1] * 16)),
            (int(end[0] * 16), int(end[1] * 16)),
            255,
            1,
            cv2.LINE_AA,
            shift=4,
        )
        strands = np.maximum(strands, line.astype(np.float32) / 255 * rng.uniform(0.35, 0.9))
    hair = np.maximum(cap, strands)
    texture = 0.8 + 0.4 * _cover(samples.grass(), width, height, rng)[:, :, :1] / 255.0
    colour = colour * (1 - hair[:, :, None]) + hair_colour * texture * hair[:, :, None]
    alpha = np.maximum(np.maximum(body, head), hair)
    return Layer(colour, alpha, np.zeros_like(alpha))


def _animal(rng: np.random.Generator, width: int, height: int) -> Layer:
    """scikit-image's horse silhouette, coated with fur from the cat photo, casting a ground shadow."""
    silhouette = (~samples.horse()).astype(np.float32)
    box = rng.uniform(0.55, 0.7) * min(width, height)
    scale = box / max(silhouette.shape)
    resized = cv2.resize(
        silhouette,
        (int(silhouette.shape[1] * scale), int(silhouette.shape[0] * scale)),
        interpolation=cv2.INTER_CUBIC,
    )
    resized = np.clip((cv2.GaussianBlur(resized, (0, 0), 1.0) - 0.5) * 2.5 + 0.5, 0, 1)
    alpha = np.zeros((height, width), np.float32)
    x0 = int(rng.uniform(0.1, 0.9) * (width - resized.shape[1]))
    y0 = int(height * 0.88) - resized.shape[0]
    alpha[y0 : y0 + resized.shape[0], x0 : x0 + resized.shape[1]] = resized
    coat = np.array(rng.choice([(120, 75, 40), (60, 40, 30), (200, 190, 180), (150, 110, 70)]), np.float32)
    fur = _cover(samples.chelsea(), width, height, rng).mean(axis=2, keepdims=True) / 128.0
    colour = np.clip(coat * (0.5 + 0.5 * fur) * _shading(alpha, 0.35), 0, 255)
    shadow = _aa_mask(
        height,
        width,
        lambda m: cv2.ellipse(
            m,
            (x0 + resized.shape[1] // 2 + 20, y0 + resized.shape[0] - 4),
            (int(resized.shape[1] * 0.5), int(box * 0.05)),
            0,
            0,
            360,
            255,
            -1,
            cv2.LINE_AA,
        ),
    )
    shadow = cv2.GaussianBlur(shadow, (0, 0), box * 0.02) * 0.5
    return Layer(colour, alpha, shadow)


def _product(rng: np.random.Generator, width: int, height: int) -> Layer:
    """A glossy bottle with a photo label, a specular stripe and a soft drop shadow."""
    body_h = height * rng.uniform(0.45, 0.55)
    body_w = body_h * rng.uniform(0.38, 0.48)
    cx = width * rng.uniform(0.38, 0.55)
    bottom = height * rng.uniform(0.78, 0.86)
    top = bottom - body_h
    neck_w = body_w * 0.32
    outline = np.array(
        [
            [cx - body_w / 2, bottom],
            [cx - body_w / 2, top + body_w * 0.35],
            [cx - neck_w / 2, top - body_w * 0.05],
            [cx - neck_w / 2, top - body_h * 0.28],
            [cx + neck_w / 2, top - body_h * 0.28],
            [cx + neck_w / 2, top - body_w * 0.05],
            [cx + body_w / 2, top + body_w * 0.35],
            [cx + body_w / 2, bottom],
        ],
        np.float32,
    )
    alpha = _aa_mask(
        height,
        width,
        lambda m: cv2.fillPoly(m, [np.round(outline * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4),
    )
    glass = np.array(
        rng.choice([(30, 90, 50), (120, 60, 20), (30, 40, 90), (180, 180, 185), (150, 20, 30)]), np.float32
    )
    xx = np.arange(width, dtype=np.float32)
    profile = np.clip(np.cos((xx - cx) / (body_w / 2) * np.pi / 2), 0, 1) ** 0.6
    colour = glass * (0.45 + 0.75 * profile)[None, :, None] * np.ones((height, 1, 1), np.float32)
    stripe = np.exp(-(((xx - (cx - body_w * 0.22)) / (body_w * 0.04)) ** 2))[None, :, None]
    colour = colour + (255 - colour) * stripe * 0.8
    label_top, label_bottom = int(top + body_h * 0.35), int(top + body_h * 0.75)
    label_left, label_right = int(cx - body_w / 2), int(cx + body_w / 2)
    label = _cover(samples.coffee(), label_right - label_left, label_bottom - label_top, rng)
    colour[label_top:label_bottom, label_left:label_right] = (
        label * (0.55 + 0.5 * profile[label_left:label_right])[None, :, None]
    )
    cap_top = int(top - body_h * 0.28)
    colour[cap_top : cap_top + int(body_h * 0.08)] = (
        np.array((200, 170, 60), np.float32) * (0.5 + 0.6 * profile)[:, None]
    )
    offset = int(body_w * 0.35)
    shadow = np.roll(alpha, (int(offset * 0.3), offset), (0, 1))
    shadow = cv2.GaussianBlur(shadow, (0, 0), body_w * 0.12) * 0.55
    contact = _aa_mask(
        height,
        width,
        lambda m: cv2.ellipse(
            m,
            (int(cx + offset * 0.5), int(bottom)),
            (int(body_w * 0.75), int(body_w * 0.12)),
            0,
            0,
            360,
            255,
            -1,
            cv2.LINE_AA,
        ),
    )
    shadow = np.maximum(shadow, cv2.GaussianBlur(contact, (0, 0), body_w * 0.05) * 0.6) * (1 - alpha)
    return Layer(np.clip(colour, 0, 255), alpha, shadow)


def _logo(rng: np.random.Generator, width: int, height: int) -> Layer:
    """scikit-image's round logo cut with an exact disc, above antialiased lettering."""
    logo = samples.logo()[:, :, :3].astype(np.float32)
    diameter = int(min(width, height) * rng.uniform(0.45, 0.55))
    disc = cv2.resize(logo[10:490, 10:490], (diameter, diameter), interpolation=cv2.INTER_AREA)
    cx, cy = width // 2 + int(rng.integers(-60, 60)), int(height * 0.4)
    colour = np.zeros((height, width, 3), np.float32)
    x0, y0 = cx - diameter // 2, cy - diameter // 2
    colour[y0 : y0 + diameter, x0 : x0 + diameter] = disc
    alpha = _aa_mask(
        height,
        width,
        lambda m: cv2.circle(
            m, (cx * 16, cy * 16), int(diameter / 2 - 3) * 16, 255, -1, cv2.LINE_AA, shift=4
        ),
    )
    text = Image.new("L", (width, height), 0)
    font = ImageFont.load_default(size=int(min(width, height) * 0.11))
    draw = ImageDraw.Draw(text)
    word = str(rng.choice(["STUDIO", "Lumen", "ACME co", "Nordic"]))
    box = draw.textbbox((0, 0), word, font=font)
    draw.text(
        (cx - (box[2] - box[0]) // 2 - box[0], cy + diameter // 2 + int(height * 0.04) - box[1]),
        word,
        font=font,
        fill=255,
    )
    letters = np.asarray(text, np.float32) / 255.0
    ink = np.array(rng.choice([(250, 130, 40), (40, 40, 45), (30, 90, 200), (120, 190, 60)]), np.float32)
    colour = colour * (1 - letters[:, :, None]) + ink * letters[:, :, None]
    return Layer(colour, np.maximum(alpha, letters), np.zeros_like(alpha))


def _thin(rng: np.random.Generator, width: int, height: int) -> Layer:
    """A bicycle: tyres, one-pixel spokes and a tubular frame, with the background showing through."""
    wheel = min(width, height) * rng.uniform(0.17, 0.21)
    cy = int(height * 0.68)
    cx = width // 2 + int(rng.integers(-50, 50))
    back, front = (int(cx - wheel * 1.25), cy), (int(cx + wheel * 1.25), cy)
    tyre_w = max(6, int(wheel * 0.08))
    tyres = _aa_mask(
        height,
        width,
        lambda m: [cv2.circle(m, c, int(wheel), 255, tyre_w, cv2.LINE_AA) for c in (back, front)],
    )
    spokes = np.zeros((height, width), np.uint8)
    for centre in (back, front):
        for k in range(18):
            angle = k * np.pi / 9 + rng.uniform(0, 0.1)
            end = (int(centre[0] + np.cos(angle) * wheel), int(centre[1] + np.sin(angle) * wheel))
            cv2.line(spokes, centre, end, 255, 1, cv2.LINE_AA)
    spokes_alpha = spokes.astype(np.float32) / 255 * 0.85
    seat = (int(cx - wheel * 0.35), int(cy - wheel * 1.25))
    crank = (cx, cy)
    head = (int(cx + wheel * 0.95), int(cy - wheel * 1.2))
    tube = max(5, int(wheel * 0.07))
    frame = _aa_mask(
        height,
        width,
        lambda m: [
            cv2.line(m, a, b, 255, tube, cv2.LINE_AA)
            for a, b in (
                (back, seat),
                (back, crank),
                (seat, crank),
                (seat, head),
                (crank, head),
                (head, front),
                (
                    (head[0] - int(wheel * 0.2), head[1] - int(wheel * 0.15)),
                    (head[0] + int(wheel * 0.25), head[1] - int(wheel * 0.2)),
                ),
                (
                    (seat[0] - int(wheel * 0.2), seat[1] - int(wheel * 0.05)),
                    (seat[0] + int(wheel * 0.2), seat[1] - int(wheel * 0.05)),
                ),
            )
        ],
    )
    paint = np.array(
        rng.choice([(200, 30, 40), (30, 80, 180), (240, 200, 40), (40, 40, 40), (230, 230, 230)]), np.float32
    )
    colour = np.zeros((height, width, 3), np.float32)
    colour[:] = (150, 150, 155)
    colour = colour * (1 - frame[:, :, None]) + paint * frame[:, :, None]
    colour = colour * (1 - tyres[:, :, None]) + np.array((25, 25, 28), np.float32) * tyres[:, :, None]
    alpha = np.maximum(np.maximum(frame, tyres), spokes_alpha)
    shadow = _aa_mask(
        height,
        width,
        lambda m: cv2.ellipse(
            m, (cx, int(cy + wheel)), (int(wheel * 2.4), int(wheel * 0.1)), 0, 0, 360, 255, -1, cv2.LINE_AA
        ),
    )
    shadow = cv2.GaussianBlur(shadow, (0, 0), wheel * 0.06) * 0.45
    return Layer(colour, alpha, shadow)


def _soft(rng: np.random.Generator, width: int, height: int) -> Layer:
    """A fluffy toy: fur from the cat photo, a feathered edge of fur strands and long see-through whiskers."""
    cx, cy = width * rng.uniform(0.42, 0.58), height * rng.uniform(0.5, 0.58)
    r = min(width, height) * rng.uniform(0.2, 0.25)
    base = _aa_mask(
        height,
        width,
        lambda m: (
            cv2.ellipse(
                m,
                (int(cx), int(cy + r * 0.35)),
                (int(r * 1.1), int(r * 0.85)),
                0,
                0,
                360,
                255,
                -1,
                cv2.LINE_AA,
            ),
            cv2.circle(m, (int(cx), int(cy - r * 0.55)), int(r * 0.7), 255, -1, cv2.LINE_AA),
            cv2.fillPoly(
                m,
                [
                    np.array(
                        [
                            [cx - r * 0.6, cy - r * 0.8],
                            [cx - r * 0.5, cy - r * 1.55],
                            [cx - r * 0.1, cy - r * 1.1],
                        ],
                        np.int32,
                    )
                ],
                255,
                cv2.LINE_AA,
            ),
            cv2.fillPoly(
                m,
                [
                    np.array(
                        [
                            [cx + r * 0.6, cy - r * 0.8],
                            [cx + r * 0.5, cy - r * 1.55],
                            [cx + r * 0.1, cy - r * 1.1],
                        ],
                        np.int32,
                    )
                ],
                255,
                cv2.LINE_AA,
            ),
        ),
    )
    body = cv2.GaussianBlur(base, (0, 0), 2.5)
    contour_y, contour_x = np.nonzero(cv2.Canny((base * 255).astype(np.uint8), 50, 150))
    strands = np.zeros((height, width), np.float32)
    centre = np.array([cx, cy])
    picks = rng.choice(len(contour_x), size=min(1500, len(contour_x)), replace=False)
    layer = np.zeros((height, width), np.uint8)
    for index in picks:
        point = np.array([contour_x[index], contour_y[index]], np.float32)
        direction = point - centre
        direction /= max(np.linalg.norm(direction), 1e-6)
        angle = np.arctan2(direction[1], direction[0]) + rng.normal(0, 0.35)
        length = r * rng.uniform(0.03, 0.12)
        end = point + np.array([np.cos(angle), np.sin(angle)]) * length
        layer[:] = 0
        cv2.line(
            layer,
            (int(point[0] * 16), int(point[1] * 16)),
            (int(end[0] * 16), int(end[1] * 16)),
            255,
            1,
            cv2.LINE_AA,
            shift=4,
        )
        strands = np.maximum(strands, layer.astype(np.float32) / 255 * rng.uniform(0.3, 0.8))
    whiskers = np.zeros((height, width), np.uint8)
    for side in (-1, 1):
        for k in range(4):
            start = (int(cx + side * r * 0.25), int(cy - r * 0.4 + k * r * 0.06))
            end = (int(cx + side * r * rng.uniform(1.1, 1.4)), int(cy - r * 0.6 + k * r * 0.18))
            cv2.line(whiskers, start, end, 255, 1, cv2.LINE_AA)
    whisker_alpha = whiskers.astype(np.float32) / 255 * 0.7
    alpha = np.maximum(np.maximum(body, strands), whisker_alpha)
    tint = np.array(
        rng.choice([(1.0, 1.0, 1.0), (1.2, 0.95, 0.8), (0.8, 0.85, 1.1), (1.1, 1.1, 1.1)]), np.float32
    )
    fur = _cover(samples.chelsea()[40:260, 120:420], width, height, rng) * tint
    colour = np.clip(fur * _shading(base, 0.3), 0, 255)
    colour = colour * (1 - whisker_alpha[:, :, None]) + 235 * whisker_alpha[:, :, None]
    eyes = _aa_mask(
        height,
        width,
        lambda m: [
            cv2.circle(m, (int(cx + s * r * 0.25), int(cy - r * 0.65)), int(r * 0.08), 255, -1, cv2.LINE_AA)
            for s in (-1, 1)
        ],
    )
    colour = colour * (1 - eyes[:, :, None]) + 15 * eyes[:, :, None]
    return Layer(colour, alpha, np.zeros_like(alpha))


FOREGROUNDS: dict[str, Callable[[np.random.Generator, int, int], Layer]] = {
    "person": _person,
    "animal": _animal,
    "product": _product,
    "logo": _logo,
    "thin": _thin,
    "soft": _soft,
}


def _background(kind: str, rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A background of the given kind, float RGB 0..255."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    if kind == "studio":
        colour = np.array(
            rng.choice(
                [
                    (245, 245, 245),
                    (200, 200, 205),
                    (128, 128, 130),
                    (35, 35, 38),
                    (60, 120, 200),
                    (40, 180, 70),
                    (235, 220, 195),
                    (245, 200, 210),
                ]
            ),
            np.float32,
        )
        falloff = 1 - 0.06 * (((xx / width - 0.5) ** 2 + (yy / height - 0.5) ** 2) * 2)
        return colour * falloff[:, :, None]
    if kind == "gradient":
        first, second = (np.array(rng.integers(20, 240, 3), np.float32) for _ in range(2))
        if rng.random() < 0.5:
            angle = rng.uniform(0, np.pi)
            t = (xx / width - 0.5) * np.cos(angle) + (yy / height - 0.5) * np.sin(angle) + 0.5
        else:
            t = np.sqrt((xx / width - 0.5) ** 2 + (yy / height - 0.5) ** 2) * 1.4
        t = np.clip(t, 0, 1)[:, :, None]
        return first * (1 - t) + second * t
    if kind == "texture":
        source = [samples.brick, samples.grass, samples.gravel][int(rng.integers(3))]()
        tint = np.array(rng.uniform(0.5, 1.2, 3), np.float32)
        return np.clip(_cover(source, width, height, rng) * tint, 0, 255)
    photos = [
        samples.astronaut,
        samples.coffee,
        samples.chelsea,
        samples.rocket,
        samples.hubble_deep_field,
        samples.immunohistochemistry,
        lambda: samples.stereo_motorcycle()[0],
    ]
    return _cover(photos[int(rng.integers(len(photos)))](), width, height, rng)


def make_case(index: int, background_kind: str, foreground_kind: str) -> Case:
    """Build one composite deterministically from its index and kinds."""
    rng = np.random.default_rng(1000 + index)
    width, height = SIZES[index % len(SIZES)]
    layer = FOREGROUNDS[foreground_kind](rng, width, height)
    background = _background(background_kind, rng, width, height) * (1 - layer.shadow[:, :, None])
    alpha = layer.alpha[:, :, None]
    composite = layer.colour * alpha + background * (1 - alpha)
    noisy = np.clip(composite + rng.normal(0, NOISE_SIGMA, composite.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy, "RGB").save(buffer, "JPEG", quality=JPEG_QUALITY)
    image = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    name = f"{index:02d}_{background_kind}_{foreground_kind}"
    return Case(
        name,
        background_kind,
        foreground_kind,
        image,
        buffer.getvalue(),
        np.round(layer.alpha * 255).astype(np.uint8),
        np.clip(layer.colour, 0, 255).astype(np.uint8),
        np.clip(background, 0, 255).astype(np.uint8),
    )


def case_specs() -> list[tuple[int, str, str]]:
    """Every (index, background kind, foreground kind) of the set: each foreground over each kind."""
    specs = []
    for b, background_kind in enumerate(BACKGROUND_KINDS):
        for f, foreground_kind in enumerate(FOREGROUNDS):
            specs.append((b * len(FOREGROUNDS) + f, background_kind, foreground_kind))
    return specs


def write_set(directory: Path = DATA_DIR) -> list[Path]:
    """Generate the set into directory (image JPEG, alpha/foreground/background PNGs, index.json)."""
    directory.mkdir(parents=True, exist_ok=True)
    index = []
    for spec in case_specs():
        case = make_case(*spec)
        (directory / f"{case.name}.jpg").write_bytes(case.jpeg)
        Image.fromarray(case.alpha, "L").save(directory / f"{case.name}_alpha.png")
        Image.fromarray(case.foreground, "RGB").save(directory / f"{case.name}_fg.png", compress_level=1)
        Image.fromarray(case.background, "RGB").save(directory / f"{case.name}_bg.png", compress_level=1)
        index.append(
            {"name": case.name, "background": case.background_kind, "foreground": case.foreground_kind}
        )
        print(f"  {case.name}  {case.image.shape[1]}x{case.image.shape[0]}", flush=True)
    (directory / "index.json").write_text(json.dumps(index, indent=1))
    return [directory / f"{item['name']}.jpg" for item in index]


def load_set(directory: Path = DATA_DIR) -> Iterator[Case]:
    """The cases stored in directory, generating them first when missing."""
    if not (directory / "index.json").exists():
        write_set(directory)
    for item in json.loads((directory / "index.json").read_text()):
        name = item["name"]
        yield Case(
            name,
            item["background"],
            item["foreground"],
            np.asarray(Image.open(directory / f"{name}.jpg").convert("RGB")),
            (directory / f"{name}.jpg").read_bytes(),
            np.asarray(Image.open(directory / f"{name}_alpha.png")),
            np.asarray(Image.open(directory / f"{name}_fg.png").convert("RGB")),
            np.asarray(Image.open(directory / f"{name}_bg.png").convert("RGB")),
        )


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA_DIR
    print(f"Writing {len(case_specs())} composites to {target}")
    write_set(target)
