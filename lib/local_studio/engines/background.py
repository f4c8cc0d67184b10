"""Background removal on the pixels alone: a background model learnt from the image border.

Two paths, chosen by how busy the border is:
- smooth backgrounds (studio colour, gradients): the background is estimated everywhere from pixels that
  look like it (normalized convolution), the subject is what differs from it, and alpha at the edges
  comes from the known-background matting equation I = aF + (1 - a)B.
- busy backgrounds (textures, photos): a multi-cluster colour model of the border seeds GrabCut at low
  resolution; the mask is brought to full size with an edge-aware guided filter.
Either way the edge colours are decontaminated: F = (I - (1 - a)B) / a, so no halo of the old background.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

_WORK_SIDE = 320  # segmentation resolution (long side); alpha and colours are computed at full size
_BUSY_BORDER = 0.7  # median Lab high-frequency energy of the border above which the background is busy
_SHARP_EDGE = 6.0  # grey levels per pixel: object outlines are steeper, soft shadow edges gentler


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize with area averaging when shrinking and bilinear when growing."""
    shrinking = width < image.shape[1]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def _border_mask(height: int, width: int, thickness: int) -> np.ndarray:
    """True on a strip of the given thickness along the four edges."""
    mask = np.zeros((height, width), bool)
    mask[:thickness], mask[-thickness:], mask[:, :thickness], mask[:, -thickness:] = True, True, True, True
    return mask


def _gaussian(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur that shrinks the image first for wide kernels (same result to the eye, far faster)."""
    factor = int(sigma // 3)
    if factor < 2:
        return cv2.GaussianBlur(values, (0, 0), sigma)
    height, width = values.shape[:2]
    small = cv2.resize(
        values, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA
    )
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _fill_from(values: np.ndarray, weights: np.ndarray, sigmas: tuple[float, ...]) -> np.ndarray:
    """Values spread from weighted pixels into the rest (normalized convolution), coarser where support is thin."""
    result = np.zeros_like(values)
    missing = np.ones(values.shape[:2], np.float32)
    weighted = values * weights[:, :, None]
    for sigma in sigmas:
        support = _gaussian(weights, sigma)
        estimate = _gaussian(weighted, sigma) / np.maximum(support, 1e-6)[:, :, None]
        take = np.clip(support * 4, 0, 1) * missing
        result += estimate * take[:, :, None]
        missing -= take
    if missing.max() > 1e-3:
        fallback = weighted.sum((0, 1)) / max(float(weights.sum()), 1e-6)
        result += fallback * missing[:, :, None]
    return result


def _busy(lab: np.ndarray, border: np.ndarray) -> bool:
    """True when the border carries texture (a photo or a pattern) rather than a smooth backdrop."""
    detail = np.linalg.norm(lab - cv2.GaussianBlur(lab, (0, 0), 2), axis=2)
    return float(np.median(detail[border])) > _BUSY_BORDER


def _keep_subject(mask: np.ndarray, min_fraction: float = 0.002) -> np.ndarray:
    """Drop specks: keep components larger than a small share of the image and of the largest one."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(count, bool)
    keep[1:] = (areas >= max(min_fraction * mask.size, 0.01 * areas.max())) | (areas == areas.max())
    return keep[labels]


def _fill_small_holes(mask: np.ndarray, max_fraction: float = 0.0005) -> np.ndarray:
    """Fill background specks enclosed by the subject (noise), keeping real openings like a wheel's."""
    inverse = ~mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(inverse.astype(np.uint8), connectivity=4)
    small = np.zeros(count, bool)
    small[1:] = stats[1:, cv2.CC_STAT_AREA] < max_fraction * mask.size
    return mask | small[labels]


def _noise_threshold(residual: np.ndarray, trusted: np.ndarray, floor: float) -> float:
    """A threshold riding above the residual seen on pixels trusted as background (robust)."""
    values = residual[trusted]
    if values.size == 0:
        return floor
    median = float(np.median(values))
    return max(floor, median + 4.0 * 1.4826 * float(np.median(np.abs(values - median))))


def _smooth_background(lab: np.ndarray, border: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Background estimate grown inward from the border, its residual, and the noise-aware threshold."""
    long_side = max(lab.shape[:2])
    sigmas = (long_side * 0.03, long_side * 0.1, long_side * 0.35)
    step = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * round(long_side * 0.04) + 1,) * 2)
    trusted = border.copy()
    background, residual, threshold = lab, np.zeros(lab.shape[:2], np.float32), 4.0
    for _ in range(14):
        background = _fill_from(lab, trusted.astype(np.float32), sigmas)
        residual = np.linalg.norm(lab - background, axis=2)
        threshold = _noise_threshold(residual, trusted, 3.0)
        # Grow the trusted backdrop one step inward: gradients are followed, the subject is never crossed.
        frontier = cv2.dilate(trusted.astype(np.uint8), step) > 0
        grown = trusted | (frontier & (residual < threshold))
        if grown.sum() - trusted.sum() < 0.002 * trusted.size:
            trusted = grown
            break
        trusted = grown
    return background, residual, threshold


def _shadow_free_subject(
    rgb: np.ndarray, background: np.ndarray, residual: np.ndarray, threshold: float, barrier: np.ndarray
) -> np.ndarray:
    """Subject mask: what differs from the backdrop, except soft shadows reachable from the backdrop."""
    candidate = residual > threshold
    dot = (rgb * background).sum(2)
    gain = np.clip(dot / np.maximum((background * background).sum(2), 1.0), 0.15, 1.0)
    off_line = np.linalg.norm(rgb - gain[:, :, None] * background, axis=2)
    shadow_like = candidate & (gain < 0.97) & (off_line < max(10.0, threshold * 2.5))
    passable = (~candidate | shadow_like) & ~barrier
    count, labels = cv2.connectedComponents(passable.astype(np.uint8), connectivity=4)
    touches_backdrop = np.zeros(count, bool)
    touches_backdrop[np.unique(labels[~candidate & passable])] = True
    touches_backdrop[0] = False
    shadow = shadow_like & touches_backdrop[labels]
    subject = candidate & ~shadow
    return _fill_small_holes(_keep_subject(subject))


def _busy_subject(rgb: np.ndarray, lab: np.ndarray, border: np.ndarray) -> np.ndarray:
    """Subject mask over a busy backdrop: border colour clusters seed GrabCut."""
    samples = lab[border].astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 0.5)
    cv2.setRNGSeed(1)
    clusters = min(8, len(samples))
    _, labels, centres = cv2.kmeans(samples, clusters, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    spread = np.array(
        [
            np.sqrt(((samples[labels.ravel() == k] - centres[k]) ** 2).sum(1).mean() + 1.0)
            for k in range(clusters)
        ],
        np.float32,
    )
    flat = lab.reshape(-1, 3)
    distance = np.min(
        np.linalg.norm(flat[:, None, :] - centres[None, :, :], axis=2) / spread[None, :], axis=1
    )
    distance = distance.reshape(lab.shape[:2])
    mask = np.where(distance < 1.5, cv2.GC_PR_BGD, cv2.GC_PR_FGD).astype(np.uint8)
    mask[border] = cv2.GC_BGD
    models = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(np.ascontiguousarray(rgb[:, :, ::-1]), mask, None, *models, 3, cv2.GC_INIT_WITH_MASK)
    subject = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    return _fill_small_holes(_keep_subject(subject))


def _guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with a grey guide: edges of the source snap to edges of the guide."""
    size = (2 * radius + 1, 2 * radius + 1)
    mean_i = cv2.blur(guide, size)
    mean_p = cv2.blur(source, size)
    cov = cv2.blur(guide * source, size) - mean_i * mean_p
    var = cv2.blur(guide * guide, size) - mean_i * mean_i
    a = cov / (var + eps)
    b = mean_p - a * mean_i
    return cv2.blur(a, size) * guide + cv2.blur(b, size)


def _edge_barrier(grey: np.ndarray, work_w: int, work_h: int) -> np.ndarray:
    """Sharp edges of the full-size image, at work size: shadows have soft edges, objects sharp ones."""
    smooth = cv2.GaussianBlur(grey, (0, 0), 1.0)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3) / 8
    sharp = (np.sqrt(gx * gx + gy * gy) > _SHARP_EDGE).astype(np.float32)
    return cv2.resize(sharp, (work_w, work_h), interpolation=cv2.INTER_AREA) > 0.1


def _matte_known_background(
    image: np.ndarray, background: np.ndarray, subject: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Alpha and subject colour at full size when the background is known everywhere (smooth backdrops)."""
    scale = max(subject.shape) / 1000
    core = cv2.erode(subject.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(np.float32)
    foreground = _fill_from(image, core, (3.0 * scale + 1, 12.0 * scale, 48.0 * scale))
    difference = image - background
    direction = foreground - background
    strength = (direction * direction).sum(2)
    projected = (difference * direction).sum(2) / np.maximum(strength, 1.0)
    distance = np.linalg.norm(difference, axis=2)
    # Where subject and backdrop colours are close the projection is unreliable; trust the mask there.
    reliable = np.clip((np.sqrt(strength) - 15) / 30, 0, 1)
    estimate = np.clip(projected, 0, 1) * reliable + subject * (1 - reliable)
    reach = 2 * round(12 * scale) + 1
    near = cv2.dilate(subject.astype(np.uint8), np.ones((reach, reach), np.uint8)) > 0
    alpha = np.where(near & (distance > threshold), estimate, 0.0)
    alpha = np.where(core > 0, 1.0, alpha)
    return alpha.astype(np.float32), foreground


def remove_background(image: Image.Image) -> Image.Image:
    """An RGBA copy of the image whose alpha keeps the subject and clears the background."""
    rgb = np.asarray(image.convert("RGB"))
    height, width = rgb.shape[:2]
    scale = min(1.0, _WORK_SIDE / max(height, width))
    work_w, work_h = max(8, round(width * scale)), max(8, round(height * scale))
    small = _resize(rgb, work_w, work_h).astype(np.float32)
    lab = cv2.cvtColor(small / 255, cv2.COLOR_RGB2Lab)
    border = _border_mask(work_h, work_w, max(2, round(min(work_w, work_h) * 0.015)))
    full = rgb.astype(np.float32)
    if not _busy(lab, border):
        background_lab, residual, threshold = _smooth_background(lab, border)
        backdrop = cv2.cvtColor(background_lab, cv2.COLOR_Lab2RGB) * 255
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
        barrier = _edge_barrier(grey, work_w, work_h)
        subject_small = _shadow_free_subject(small, backdrop, residual, threshold, barrier)
        # The backdrop as it really is around the subject, shadows included, for matting at full size.
        clear = cv2.erode((~subject_small).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
        long_side = max(work_w, work_h)
        backdrop = _fill_from(small, clear, (long_side * 0.01 + 1, long_side * 0.04, long_side * 0.2))
        background = _resize(backdrop, width, height)
        subject = _resize(subject_small.astype(np.float32), width, height) > 0.5
        rgb_noise = _noise_threshold(np.linalg.norm(small - backdrop, axis=2), clear > 0, 6.0)
        alpha, foreground = _matte_known_background(full, background, subject, rgb_noise)
    else:
        subject_small = _busy_subject(small, lab, border)
        soft = _resize(subject_small.astype(np.float32), width, height)
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
        radius = max(2, round(max(width, height) / 300))
        alpha = np.clip(_guided_filter(grey, soft, radius, 1e-3), 0, 1)
        alpha = np.clip((alpha - 0.1) / 0.8, 0, 1)
        scale_px = max(width, height) / 1000
        clear = (alpha < 0.02).astype(np.float32)
        background = _fill_from(full, clear, (4.0 * scale_px, 16.0 * scale_px, 64.0 * scale_px))
        core = (alpha > 0.98).astype(np.float32)
        foreground = _fill_from(full, core, (4.0 * scale_px, 16.0 * scale_px, 64.0 * scale_px))
    # Decontaminate: solve the compositing equation for the subject colour where alpha is partial.
    solved = (full - (1 - alpha[:, :, None]) * background) / np.maximum(alpha, 0.05)[:, :, None]
    trust = np.clip((alpha - 0.3) / 0.5, 0, 1)[:, :, None]
    colour = np.where(alpha[:, :, None] >= 0.999, full, solved * trust + foreground * (1 - trust))
    out = np.dstack([np.clip(colour, 0, 255), alpha * 255]).round().astype(np.uint8)
    return Image.fromarray(out, "RGBA")
