"""Outdoor scenery for previews: sky, mountains, ground, water, city, trees, blossoms and a garden."""

from __future__ import annotations

import cv2
import numpy as np

from lib.local_studio.engines.canvas import Canvas, Colour, mix
from lib.local_studio.engines.scene import Scene, sky_colours


def draw_sky(canvas: Canvas, scene: Scene, rng: np.random.Generator, horizon_y: float) -> None:
    """Vertical gradient sky with clouds, stars, sun or moon."""
    top, horizon = sky_colours(scene)
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
        colour = (60, 60, 95) if scene.night else mix(horizon, (255, 255, 255), 0.6)
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


def draw_mountains(canvas: Canvas, scene: Scene, rng: np.random.Generator, horizon_y: float) -> None:
    """Two or three mountain ranges fading into the distance (aerial perspective)."""
    _, horizon = sky_colours(scene)
    base: Colour = (30, 36, 60) if scene.night else (70, 85, 105)
    if scene.colours:
        base = mix(base, scene.colours[0], 0.25)
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
        colour = mix(base, horizon, 0.55 * far)
        mask = canvas.polygon_mask(points.astype(np.float32))
        canvas.paint(mask, colour)
        if scene.snow or (layer == 0 and not scene.night and not scene.desert):
            snow_line = heights + canvas.height * 0.035
            yy = np.arange(canvas.height, dtype=np.float32)[:, None]
            cap = np.clip((snow_line[None, :] - yy) / 4, 0, 1) * mask
            canvas.paint(cap, mix((245, 247, 252), horizon, 0.3 * far), 0.9)


def draw_ground(canvas: Canvas, scene: Scene, rng: np.random.Generator, horizon_y: float) -> None:
    """Ground below the horizon: grass, sand, snow or a night street, with gentle texture."""
    near: Colour
    far: Colour
    if scene.snow:
        near, far = (225, 232, 242), (195, 205, 222)
    elif scene.desert or (scene.water and not scene.city):
        near, far = (222, 196, 150), (200, 170, 125)
    elif scene.city:
        near, far = (45, 45, 55), (70, 70, 85)
    else:
        near, far = (70, 125, 60), (120, 160, 90)
    if scene.night:
        near, far = mix(near, (10, 12, 25), 0.7), mix(far, (10, 12, 25), 0.6)
    elif scene.sunset:
        near, far = mix(near, (90, 50, 60), 0.4), mix(far, (250, 150, 90), 0.3)
    if scene.colours and not scene.city:
        near = mix(near, scene.colours[-1], 0.25)
    start = int(horizon_y * canvas.height)
    rows = np.linspace(0, 1, canvas.height - start, dtype=np.float32)[:, None]
    ground = np.array(far, np.float32) + (np.array(near, np.float32) - np.array(far, np.float32)) * rows
    texture = (canvas.smooth_noise(rng, 40)[start:] - 0.5) * 24
    canvas.pixels[start:] = ground[:, None, :] + texture[:, :, None]


def draw_water(
    canvas: Canvas, scene: Scene, rng: np.random.Generator, horizon_y: float, water_top: float
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
    tint_colour: Colour = (20, 60, 90) if not scene.night else (5, 10, 25)
    if scene.colours:
        tint_colour = mix(tint_colour, scene.colours[0], 0.5)
    tint = np.array(tint_colour, np.float32)
    depth = np.linspace(0.25, 0.6, span, dtype=np.float32)[:, None, None]
    water = reflection * (1 - depth) + tint * depth
    ripples = np.sin(
        np.arange(span, dtype=np.float32)[:, None] ** 1.15 * 0.9 + canvas.smooth_noise(rng, 30)[start:] * 12
    )
    water += (ripples[:, :, None] * 10).astype(np.float32)
    canvas.pixels[start:] = water


def draw_city(canvas: Canvas, scene: Scene, rng: np.random.Generator, horizon_y: float) -> None:
    """A skyline of towers with lit windows, and neon signs when the prompt asks for them."""
    ground = horizon_y * canvas.height
    if scene.night:  # the city's own light glows on the haze above it
        rows = np.arange(canvas.height, dtype=np.float32)
        glow = np.exp(-(((rows - ground) / (canvas.height * 0.18)) ** 2))[:, None] * np.ones(
            (1, canvas.width)
        )
        canvas.paint(glow.astype(np.float32), (200, 70, 170) if scene.neon else (210, 150, 100), 0.6)
    neon: list[Colour] = [(255, 60, 200), (40, 230, 255), (150, 80, 255), (255, 120, 40)]
    if scene.colours:
        neon = list(scene.colours) + neon[: max(0, 4 - len(scene.colours))]
    window_colour = (255, 215, 140) if scene.night else (150, 180, 210)
    signs: dict[int, list[tuple[tuple[int, int], tuple[int, int]]]] = {}
    for layer, shade in enumerate((0.55, 0.8, 1.0)):
        x = -rng.random() * 40
        while x < canvas.width:
            w = canvas.unit * (5 + rng.random() * 9)
            h = canvas.height * (0.12 + rng.random() * (0.22 + 0.12 * (2 - layer)))
            top = ground - h
            base = (10, 10, 24) if scene.night else (90, 100, 120)
            colour = mix(base, sky_colours(scene)[1], 0.5 * (1 - shade))
            x0, x1, y0 = int(x), int(x + w), int(top)
            canvas.pixels[max(0, y0) : int(ground), max(0, x0) : max(0, x1)] = colour
            if layer == 2 and rng.random() < 0.3 and x1 > x0 + 6:
                # Stepped crowns and masts break the skyline into readable towers.
                inset = (x1 - x0) // 4
                crown = int(canvas.unit * (2 + rng.random() * 3))
                canvas.pixels[max(0, y0 - crown) : max(0, y0), max(0, x0 + inset) : max(0, x1 - inset)] = (
                    colour
                )
                mast_x = (x0 + x1) // 2
                mast_top = max(0, y0 - crown - int(canvas.unit * 5))
                canvas.pixels[mast_top : max(0, y0 - crown), max(0, mast_x - 1) : max(0, mast_x + 1)] = colour
            if layer == 2 or scene.night:
                step_x, step_y = max(4, int(canvas.unit * 1.4)), max(5, int(canvas.unit * 1.8))
                for wy in range(y0 + step_y, int(ground) - step_y, step_y):
                    lit = rng.random(max(1, (x1 - x0) // step_x)) < (0.45 if scene.night else 0.9)
                    for i, on in enumerate(lit):
                        wx = x0 + step_x // 2 + i * step_x
                        if on and 0 <= wx < canvas.width - 3 and wy >= 0:
                            bright = window_colour if scene.night else mix(colour, window_colour, 0.5)
                            canvas.pixels[wy : wy + step_y // 2, wx : wx + max(2, step_x // 2)] = bright
            if scene.neon and layer == 2 and rng.random() < 0.55:
                sy = int(top + h * (0.15 + rng.random() * 0.4))
                if rng.random() < 0.5:
                    corners = ((x0 + 3, sy), (x1 - 3, sy + int(canvas.unit * 1.5)))
                else:  # a vertical blade sign down the tower's side
                    corners = (
                        (x1 - int(canvas.unit * 2), sy),
                        (x1 - int(canvas.unit * 0.8), sy + int(h * 0.3)),
                    )
                signs.setdefault(int(rng.integers(len(neon))), []).append(corners)
            x += w + canvas.unit * rng.random() * (6 - 2 * layer)
    # Signs of one colour share one glow: one blur per colour instead of one per sign.
    for index, rectangles in signs.items():
        mask = np.zeros((canvas.height, canvas.width), np.uint8)
        for first, second in rectangles:
            cv2.rectangle(mask, first, second, 255, -1)
        tubes = mask.astype(np.float32) / 255
        glow = cv2.GaussianBlur(tubes, (0, 0), canvas.unit * 2)
        canvas.paint(np.clip(glow * 2.0, 0, 1), neon[index], 0.7)
        canvas.paint(tubes, mix(neon[index], (255, 255, 255), 0.4))


def draw_trees(canvas: Canvas, scene: Scene, rng: np.random.Generator, horizon_y: float) -> None:
    """Rows of conifers along the horizon, larger and darker toward the viewer."""
    base = (25, 60, 40) if not scene.night else (8, 18, 20)
    if scene.snow:
        base = (50, 75, 70)
    for row in range(3):
        size = canvas.unit * (4 + row * 3)
        y_base = canvas.height * (horizon_y + row * 0.06)
        colour = mix(base, sky_colours(scene)[1], 0.45 * (2 - row) / 2)
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


def draw_blossoms(canvas: Canvas, scene: Scene, rng: np.random.Generator, horizon_y: float) -> None:
    """A blossoming tree at one side: a branching trunk, two-tone clusters of bloom and drifting petals."""
    petal = scene.colours[0] if scene.colours else (246, 178, 200)
    bark = (60, 40, 35) if not scene.night else (20, 15, 20)
    u = canvas.unit
    side = 0.2 if rng.random() < 0.5 else 0.8
    base = np.array([canvas.width * side, canvas.height * min(0.97, horizon_y + 0.3)])
    fork = base + np.array([u * 3 * (1 if side < 0.5 else -1), -canvas.height * 0.32])
    wood = np.zeros((canvas.height, canvas.width), np.uint8)
    cv2.line(wood, tuple(base.astype(int)), tuple(fork.astype(int)), 255, max(3, int(u * 2.6)), cv2.LINE_AA)
    tips = []
    for angle in np.linspace(-2.6, -0.5, 5) + rng.normal(0, 0.12, 5):
        length = u * (14 + rng.random() * 14)
        tip = fork + np.array([np.cos(angle), np.sin(angle)]) * length
        cv2.line(
            wood, tuple(fork.astype(int)), tuple(tip.astype(int)), 255, max(2, int(u * 1.1)), cv2.LINE_AA
        )
        tips.append(tip)
    canvas.paint(wood.astype(np.float32) / 255, bark)
    bloom = np.zeros((canvas.height, canvas.width), np.uint8)
    for tip in tips:
        for _ in range(16):
            centre = tip + rng.normal(0, u * 5, 2)
            cv2.circle(
                bloom, tuple(centre.astype(int)), int(u * (2.5 + rng.random() * 3)), 255, -1, cv2.LINE_AA
            )
    mask = bloom.astype(np.float32) / 255
    # Shade the clusters from below, so the crown reads as round masses rather than a flat stamp.
    lower = np.clip(
        cv2.GaussianBlur(mask, (0, 0), u * 2)
        - np.roll(cv2.GaussianBlur(mask, (0, 0), u * 2), int(u * 2), axis=0),
        0,
        1,
    )
    texture = canvas.smooth_noise(rng, 60)[:, :, None]
    colour = np.array(petal, np.float32) * (0.85 + 0.25 * texture)
    canvas.paint(mask, np.clip(colour, 0, 255))
    canvas.paint(np.clip(lower * 3, 0, 1) * mask, mix(petal, (90, 40, 70), 0.35), 0.6)
    petals = np.zeros((canvas.height, canvas.width), np.uint8)
    for _ in range(90):
        px, py = rng.random() * canvas.width, rng.random() * canvas.height
        axes = (max(1, int(u * 0.5)), max(1, int(u * 0.3)))
        cv2.ellipse(petals, (int(px), int(py)), axes, rng.random() * 180, 0, 360, 255, -1, cv2.LINE_AA)
    canvas.paint(petals.astype(np.float32) / 255, mix(petal, (255, 255, 255), 0.3), 0.85)


def draw_pond(canvas: Canvas, scene: Scene, rng: np.random.Generator, horizon_y: float) -> None:
    """A still pond in the foreground that mirrors the sky."""
    top, horizon = sky_colours(scene)
    cx, cy = canvas.width * (0.45 + rng.random() * 0.2), canvas.height * (horizon_y + 0.22)
    axes = (int(canvas.width * 0.22), int(canvas.height * 0.07))
    mask = canvas.shapes_mask(
        lambda m: cv2.ellipse(m, (int(cx), int(cy)), axes, 0, 0, 360, 255, -1, cv2.LINE_AA)
    )
    rows = np.clip((np.arange(canvas.height, dtype=np.float32) - (cy - axes[1])) / (2 * axes[1]), 0, 1)
    water = (
        np.array(horizon, np.float32)
        + (np.array(top, np.float32) - np.array(horizon, np.float32)) * rows[:, None]
    )
    ripple = np.sin(np.arange(canvas.height, dtype=np.float32) * 0.8)[:, None] * 6
    canvas.paint(mask, (water * 0.85)[:, None, :] + ripple[:, :, None])
    rim = canvas.shapes_mask(
        lambda m: cv2.ellipse(
            m, (int(cx), int(cy)), axes, 0, 0, 360, 255, max(2, int(canvas.unit * 0.6)), cv2.LINE_AA
        )
    )
    canvas.paint(rim, (90, 90, 85), 0.7)


def draw_garden(canvas: Canvas, scene: Scene, rng: np.random.Generator, horizon_y: float) -> None:
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

        def stone_shape(m: np.ndarray, sx: float = sx, sy: float = sy) -> object:
            axes = (int(u * (3 + rng.random() * 3)), int(u * (1.5 + rng.random())))
            return cv2.ellipse(m, (int(sx), int(sy)), axes, 0, 0, 360, 255, -1, cv2.LINE_AA)

        stone = canvas.shapes_mask(stone_shape)
        canvas.paint(stone, (95, 95, 100) if not scene.night else (35, 35, 45))
