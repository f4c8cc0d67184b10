"""Indoor rooms, simple figures (robots, people, pets) and abstract compositions for previews."""

from __future__ import annotations

import cv2
import numpy as np

from lib.local_studio.engines.canvas import Canvas, Colour, mix
from lib.local_studio.engines.scene import Scene


def draw_interior(canvas: Canvas, scene: Scene, rng: np.random.Generator) -> None:
    """A warm room: back wall, floor, a window, and bookshelves when books are mentioned."""
    wall: Colour = (120, 85, 60)
    floor: Colour = (80, 50, 35)
    if scene.colours:
        wall = mix(wall, scene.colours[0], 0.4)
    floor_y = int(canvas.height * 0.72)
    canvas.pixels[:floor_y] = wall
    canvas.pixels[floor_y:] = floor
    planks = (np.sin(np.arange(canvas.width, dtype=np.float32) / (canvas.unit * 2.5)) > 0.95)[None, :, None]
    canvas.pixels[floor_y:] -= planks * 18
    u = canvas.unit
    if scene.books:
        palette: list[Colour] = [
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
                    canvas.pixels[top:y_bottom, x : min(x + width, x1 - int(u))] = mix(
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


def draw_subject(canvas: Canvas, scene: Scene, rng: np.random.Generator, ground_y: float) -> None:
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
            (legs, mix(metal, (0, 0, 0), 0.35)),
            (body, metal),
            (head, mix(metal, (255, 255, 255), 0.2)),
            (antenna, mix(metal, (0, 0, 0), 0.2)),
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
            (head, mix(fur, (255, 255, 255), 0.1)),
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


def draw_abstract(canvas: Canvas, scene: Scene, rng: np.random.Generator) -> None:
    """Soft overlapping discs and bands in the prompt's palette over a gradient."""
    palette: list[Colour] = list(scene.colours)
    if not palette:  # drawn only when needed, so prompts with colours keep their random sequence
        palette = [(float(r), float(g), float(b)) for r, g, b in (rng.integers(40, 230, 3) for _ in range(3))]
    first, last = palette[0], palette[-1]
    rows = np.linspace(0, 1, canvas.height, dtype=np.float32)[:, None, None]
    canvas.pixels[:] = (
        np.array(mix(first, (15, 15, 25), 0.55), np.float32) * (1 - rows)
        + np.array(mix(last, (250, 250, 250), 0.25), np.float32) * rows
    )
    for index in range(9):
        colour = palette[index % len(palette)]
        colour = mix(colour, (255, 255, 255), rng.random() * 0.35)
        cx, cy = rng.random() * canvas.width, rng.random() * canvas.height
        radius = canvas.unit * (8 + rng.random() * 22)

        def disc(m: np.ndarray, cx: float = cx, cy: float = cy, r: float = radius) -> object:
            return cv2.circle(m, (int(cx), int(cy)), int(r), 255, -1, cv2.LINE_AA)

        mask = canvas.shapes_mask(disc)
        canvas.paint(mask, colour, 0.55 + rng.random() * 0.35)
