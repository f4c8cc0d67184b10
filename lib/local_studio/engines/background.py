"""Background removal on the pixels alone: a background model learnt from the image border.

Two paths, chosen by how busy the border is:
- smooth backdrops (studio colour, gradients): the backdrop is grown inward from the border with local
  planes (first-order normalized convolution), so gradients are followed; the subject is what differs
  from it, minus soft shadows: what darkens steadily from the backdrop without crossing a sharp edge.
  Alpha at full size solves the known-background matting equation I = aF + (1 - a)B by projection,
  with F learnt only from subject pixels unmixed with the backdrop (a fringe's would tint it); strands
  and spokes of their own colour are found as thin ridges of the difference from the backdrop.
- busy backdrops (textures, photos): a colour-and-texture model of the border (k-means) seeds GrabCut at
  low resolution (the bottom edge's middle is left out when a subject runs into it); the mask is brought
  to full size with an edge-aware guided filter.
Either way the partly transparent pixels are decontaminated, F = (I - (1 - a)B) / a, so no halo of the
old background shows on a new one. Measured by bench/bg_quality.py on composites with exact alpha.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from lib.local_studio.engines.people import Face, body_prior, find_faces, person_probability
from lib.local_studio.engines.salient import salient_probability

# Tuned on the evaluation set (bench/bg_eval_set.py); each was swept and kept where it scored best.
_WORK_SIDE = 320  # segmentation resolution (long side); alpha and colours are computed at full size
_BUSY_BORDER = 0.7  # median Lab high-frequency energy of the border above which the backdrop is busy
_SHARP_EDGE = 6.0  # grey levels per pixel: object outlines are steeper, soft shadow edges gentler
_DEEP = 6  # px at 1 MP: how far inside the mask the subject counts as solid (texture may not thin it)
_PURE = 8  # px at 1 MP: depth from which unmixed subject colour is taken for soft edges
_REACH = 12  # px at 1 MP: how far from the edge that unmixed colour is trusted
_BAND = 0.04  # share of the long side around the mask searched for strands and whiskers
_THIN_STRONG = 4.0  # noise thresholds: a strand, spoke or letter stands out this clearly from the backdrop
_THIN_FLOOR = 24.0  # RGB levels: and at least this much (JPEG ringing beside edges stays below)
_UNEXPLAINED = 0.5  # share of a pixel's difference from the backdrop the subject's colour cannot explain
_THIN_WIDTH = 5  # px: lines narrower than this count as strands (an opening of this size removes them)
_CREST = 0.6  # share of the strongest difference nearby (5 px) a pixel needs to count as a line's crest
_THIN_REACH = 9  # px: window in which a line's fully covered pixels are sought
_HOLE_DIFFERS = 0.5  # share of a hole's pixels unlike the backdrop above which it is part of the subject
_SMALL_PART = 0.0002  # share of the image: a part this small is kept only if it clearly stands out
_STANDS_OUT = 2.0  # noise thresholds above which a pixel clearly stands out from the backdrop
_SHADOW_NOISE = 0.02  # gain: how much a shadow may seem to brighten on the way in (noise, JPEG)
_BOTTOM_UNLIKE = 1.2  # cluster spreads: the bottom edge's middle is subject when three quarters of it are
# at least this far from the rest of the border
_UNMIXED = 0.8  # share of the way to the subject's colour a solid pixel must reach to teach that colour
_RAMP = 0.2  # inside the subject, projections below this are backdrop showing through, above 1 - this solid
_BORDER_CLUSTERS = 10  # k-means clusters of a busy border's colour and texture
_BUSY_NEAR = 1.5  # cluster spreads: closer than this to the border model is probably backdrop
_BUSY_SURE = 0.8  # cluster spreads: closer than this is certainly backdrop
_CENTRED_SURE = 0.6  # the same when the centre starts as subject: GrabCut is given more to settle
_CENTRE = 0.25  # share of the width and height: radius of the central ellipse that starts as subject
_GRABCUT_ROUNDS = 3
_BRIDGE = 4  # px at work size: pieces joined to the central subject by a neck thinner than twice this go
_FACE_HELD = 0.7  # share of a face and its neck the plain cut-out must hold to count as having found it
_BODY_AT_BOTTOM = 0.2  # share of the bottom edge below a face the cut-out must cover to show a body there
_PERSON = 0.5  # person model probability above which a pixel belongs to a person
_PERSON_SURE = 0.9  # and above which (away from the outline) GrabCut may not give it up
_SALIENT = 0.5  # salient model level above which a pixel counts as the subject when comparing the masks
_SALIENT_SURE = 0.95  # and above which it is subject when the model is believed
_SALIENT_AGREES = 0.8  # IoU with the colour cut-out above which the salient model is believed
_ANYONE = 0.005  # share of the image the person model must see to look for faces at all
_HOLE_UNLIKE = 1.1  # cluster spreads: a hole in the subject whose median is this far from the border is
# part of the subject (a cup's inside, a spoon that mirrors the table); nearer, it is backdrop showing
# through (a wheel's opening)


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
    """Values spread from weighted pixels into the rest (normalized convolution), coarser where thin."""
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


def _keep_subject(
    mask: np.ndarray, min_fraction: float = 0.002, standing_out: np.ndarray | None = None
) -> np.ndarray:
    """Drop specks: keep components larger than a small share of the image and of the largest one.

    Smaller components that stand out clearly all over (`standing_out`: letters under a logo) stay too;
    noise specks only just pass the threshold.
    """
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(count, bool)
    keep[1:] = (areas >= max(min_fraction * mask.size, 0.01 * areas.max())) | (areas == areas.max())
    if standing_out is not None:
        clear = np.bincount(labels.ravel(), standing_out.ravel(), count)[1:] / areas
        keep[1:] |= (areas >= _SMALL_PART * mask.size) & (clear > 0.5)
    return keep[labels]


def _fill_small_holes(mask: np.ndarray, max_fraction: float = 0.00005) -> np.ndarray:
    """Fill background specks enclosed by the subject (noise), keeping real openings like a wheel's."""
    inverse = ~mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(inverse.astype(np.uint8), connectivity=4)
    small = np.zeros(count, bool)
    small[1:] = stats[1:, cv2.CC_STAT_AREA] < max_fraction * mask.size
    return mask | small[labels]


def _enclosed(mask: np.ndarray) -> np.ndarray:
    """True on the holes of the mask: what is not in it and cannot reach the frame's border."""
    count, labels = cv2.connectedComponents((~mask).astype(np.uint8), connectivity=4)
    outside = np.zeros(count, bool)
    outside[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = True
    return ~mask & ~outside[labels]


def _noise_threshold(residual: np.ndarray, trusted: np.ndarray, floor: float) -> float:
    """A threshold riding above the residual seen on pixels trusted as background (robust)."""
    values = residual[trusted]
    if values.size == 0:
        return floor
    median = float(np.median(values))
    return max(floor, median + 4.0 * 1.4826 * float(np.median(np.abs(values - median))))


def _fill_linear(
    values: np.ndarray, weights: np.ndarray, sigma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First-order normalized convolution: a local plane fitted to weighted pixels, so gradients carry on.

    Returns the plane's value, the plain weighted mean (zero order) and the local weight they rest on.
    """
    height, width = weights.shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    xx, yy = xx / sigma, yy / sigma  # keep moments well scaled
    blur = lambda image: cv2.GaussianBlur(image, (0, 0), sigma)  # noqa: E731
    w, wx, wy = blur(weights), blur(weights * xx), blur(weights * yy)
    wxx, wxy, wyy = blur(weights * xx * xx), blur(weights * xx * yy), blur(weights * yy * yy)
    # Moments about each pixel: solve [[w, sx, sy], [sx, sxx, sxy], [sy, sxy, syy]] c = [v, vx, vy].
    sx, sy = wx - xx * w, wy - yy * w
    sxx = wxx - 2 * xx * wx + xx * xx * w
    syy = wyy - 2 * yy * wy + yy * yy * w
    sxy = wxy - xx * wy - yy * wx + xx * yy * w
    sxx += 1e-4
    syy += 1e-4
    weighted = values * weights[:, :, None]
    v = blur(weighted)
    vx = blur(weighted * xx[:, :, None]) - xx[:, :, None] * v
    vy = blur(weighted * yy[:, :, None]) - yy[:, :, None] * v
    # Only the plane's value at the pixel is needed: the first row of the inverse, by cofactors.
    c00 = sxx * syy - sxy * sxy
    c01 = sy * sxy - sx * syy
    c02 = sx * sxy - sy * sxx
    determinant = w * c00 + sx * c01 + sy * c02
    safe = np.where(np.abs(determinant) > 1e-9, determinant, 1e-9)
    value = (c00[:, :, None] * v + c01[:, :, None] * vx + c02[:, :, None] * vy) / safe[:, :, None]
    # Where the plane is ill-posed (support on a line or a point), fall back to the weighted mean.
    plain = v / np.maximum(w, 1e-6)[:, :, None]
    ill = (np.abs(determinant) < 1e-6 * np.maximum(w, 1e-6) ** 3)[:, :, None]
    return np.where(ill, plain, value), plain, w


def _trusted_border(lab: np.ndarray, border: np.ndarray) -> np.ndarray:
    """Border pixels that agree with a smooth colour model of the whole border (a subject may touch it).

    The model is a quadratic surface in x and y, fitted by trimmed least squares: refitted on the best
    agreeing 60% of the border, so a subject covering a good part of it does not pull the fit.
    """
    height, width = border.shape
    ys, xs = np.nonzero(border)
    x, y = xs / width - 0.5, ys / height - 0.5
    design = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], 1).astype(np.float32)
    colours = cv2.GaussianBlur(lab, (0, 0), 1.5)[ys, xs]
    # Start from the median colour (robust), then let the surface bend to follow a gradient.
    deviation = np.linalg.norm(colours - np.median(colours, axis=0), axis=1)
    keep = deviation <= np.quantile(deviation, 0.6)
    for _ in range(6):
        coefficients, *_ = np.linalg.lstsq(design[keep], colours[keep], rcond=None)
        deviation = np.linalg.norm(colours - design @ coefficients, axis=1)
        keep = deviation <= np.quantile(deviation, 0.6)
    inliers = deviation[keep]
    limit = max(
        6.0, float(np.median(inliers)) + 6 * 1.4826 * float(np.median(np.abs(inliers - np.median(inliers))))
    )
    trusted = np.zeros_like(border)
    good = deviation <= limit
    trusted[ys[good], xs[good]] = True
    return trusted if good.mean() > 0.3 else border


def _smooth_background(
    lab: np.ndarray, border: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Backdrop estimate grown inward from the border, its residual, the noise-aware threshold and the
    pixels the growth reached (the backdrop seen from the border)."""
    # The backdrop is smooth, so it is modelled at half the work size; the residual is taken at work size.
    height, width = lab.shape[:2]
    model_w, model_h = max(8, width // 2), max(8, height // 2)
    model = _resize(lab, model_w, model_h)
    long_side = max(model_w, model_h)
    sigma = long_side * 0.04
    coarse = (long_side * 0.12, long_side * 0.35)
    step = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * round(long_side * 0.04) + 1,) * 2)
    trusted = _resize(_trusted_border(lab, border).astype(np.float32), model_w, model_h) > 0.99
    background = model
    for _ in range(30):
        weights = trusted.astype(np.float32)
        local, _, support = _fill_linear(model, weights, sigma)
        far = _fill_from(model, weights, coarse)
        take = np.clip(support * 6, 0, 1)[:, :, None]
        background = local * take + far * (1 - take)
        residual = np.linalg.norm(model - background, axis=2)
        # Growing may be a little more tolerant than classifying: subject outlines are steps, not slopes.
        threshold = _noise_threshold(residual, trusted, 2.5)
        # Grow the trusted backdrop one step inward: gradients are followed, the subject is never crossed.
        frontier = cv2.dilate(trusted.astype(np.uint8), step) > 0
        grown = trusted | (frontier & (residual < threshold))
        added = grown.sum() - trusted.sum()
        trusted = grown
        if added < 0.003 * trusted.size:
            break
    background = _resize(background, width, height)
    residual = np.linalg.norm(lab - background, axis=2)
    trusted_work = _resize(trusted.astype(np.float32), width, height) > 0.99
    return background, residual, _noise_threshold(residual, trusted_work, 3.0), trusted_work


def _shadow_free_subject(
    rgb: np.ndarray,
    background: np.ndarray,
    residual: np.ndarray,
    threshold: float,
    barrier: np.ndarray,
    reached: np.ndarray,
) -> np.ndarray:
    """Subject mask: what differs from the backdrop, except soft shadows reachable from the backdrop.

    Only the backdrop reached from the border seeds shadows: a patch inside the subject that happens to
    match the backdrop's colour must not let its surroundings be taken for shadow.
    """
    candidate = residual > threshold
    dot = (rgb * background).sum(2)
    gain = np.clip(dot / np.maximum((background * background).sum(2), 1.0), 0.15, 1.0)
    off_line = np.linalg.norm(rgb - gain[:, :, None] * background, axis=2)
    shadow_like = candidate & (gain < 0.97) & (off_line < max(10.0, threshold * 2.5))
    passable = (~candidate | shadow_like) & ~barrier
    shadow = shadow_like & _darkening_from(reached & ~candidate & passable, passable, gain)
    subject = _keep_subject(candidate & ~shadow, standing_out=residual > _STANDS_OUT * threshold)
    return _fill_small_holes(subject | _holes_unlike_backdrop(subject, candidate))


def _darkening_from(seeds: np.ndarray, passable: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """The passable pixels reached from the seeds by paths that only darken (within noise).

    A shadow darkens steadily from the backdrop toward what casts it; a subject's shaded side that happens
    to match it (a grey bottle beside its own shadow) brightens again past its darkest outline.
    """
    smooth = cv2.GaussianBlur(gain.astype(np.float32), (0, 0), 1.0)
    step = np.ones((3, 3), np.uint8)
    reached = seeds & passable
    for _ in range(max(smooth.shape)):
        brightest = cv2.dilate(np.where(reached, smooth, -1.0).astype(np.float32), step)
        grown = reached | (passable & (smooth <= brightest + _SHADOW_NOISE))
        if np.array_equal(grown, reached):
            break
        reached = grown
    return reached


def _holes_unlike_backdrop(subject: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """The holes of the subject that mostly differ from the backdrop: its own darker parts taken for shadow
    (a label's brown on a brown backdrop), not an opening the backdrop shows through (a wheel's)."""
    count, labels = cv2.connectedComponents(_enclosed(subject).astype(np.uint8), connectivity=4)
    if count <= 1:
        return np.zeros_like(subject)
    differs = np.bincount(labels.ravel(), candidate.ravel(), count) / np.bincount(labels.ravel(), None, count)
    differs[0] = 0
    return differs[labels] > _HOLE_DIFFERS


def _consistent_border(lab: np.ndarray, border: np.ndarray, segments: int = 48) -> np.ndarray:
    """Border pixels of the segments whose mean colour agrees with the rest (a subject may touch it)."""
    height, width = border.shape
    ys, xs = np.nonzero(border)
    angle = np.arctan2(ys - height / 2, xs - width / 2)
    index = ((angle + np.pi) / (2 * np.pi) * segments).astype(int) % segments
    colours = lab[ys, xs]
    means = np.array(
        [colours[index == k].mean(0) if (index == k).any() else colours.mean(0) for k in range(segments)]
    )
    deviation = np.linalg.norm(means - np.median(means, axis=0), axis=1)
    limit = max(10.0, float(np.median(deviation)) * 3)
    keep = deviation <= limit
    if keep.mean() < 0.5:
        return border
    trusted = np.zeros_like(border)
    trusted[ys[keep[index]], xs[keep[index]]] = True
    return trusted


def _texture_features(lab: np.ndarray) -> np.ndarray:
    """Per-pixel colour and local texture strength: a textured backdrop differs from a smooth subject."""
    mean = cv2.GaussianBlur(lab, (0, 0), 1.0)
    local = cv2.GaussianBlur(lab, (0, 0), 2.5)
    spread = np.sqrt(np.maximum(cv2.GaussianBlur(lab * lab, (0, 0), 2.5) - local * local, 0))
    return np.concatenate([mean, spread[:, :, :1] * 1.5], axis=2).astype(np.float32)


def _nearest_cluster_distance(features: np.ndarray, samples: np.ndarray, clusters: int) -> np.ndarray:
    """Distance of each pixel's features to the nearest k-means cluster of the samples, in cluster spreads."""
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 0.5)
    cv2.setRNGSeed(1)
    count = max(1, min(clusters, len(samples) // 20))
    _, labels, centres = cv2.kmeans(samples, count, None, criteria, 1, cv2.KMEANS_PP_CENTERS)  # type: ignore[call-overload]  # the stubs omit the documented None
    labels = labels.ravel()
    spread = np.array(
        [np.sqrt(((samples[labels == k] - centres[k]) ** 2).sum(1).mean() + 4.0) for k in range(count)],
        np.float32,
    )
    flat = features.reshape(-1, features.shape[2])
    best = np.full(len(flat), np.inf, np.float32)
    for k in range(count):
        best = np.minimum(best, np.linalg.norm(flat - centres[k], axis=1) / spread[k])
    return best.reshape(features.shape[:2])


def _busy_subject(rgb: np.ndarray, lab: np.ndarray, border: np.ndarray, centred: bool = True) -> np.ndarray:
    """Subject mask over a busy backdrop: a colour-and-texture model of the border seeds GrabCut.

    `centred` lets the frame's centre start as subject; without it, only colour and texture decide.
    """
    border = _consistent_border(lab, border)
    features = _texture_features(lab)
    border = _without_subject_at_bottom(features, border)
    distance = _nearest_cluster_distance(features, features[border], _BORDER_CLUSTERS)
    mask = np.where(distance < _BUSY_NEAR, cv2.GC_PR_BGD, cv2.GC_PR_FGD).astype(np.uint8)
    # Subjects are framed near the centre and a busy photo shows there what its border never does, so
    # near the centre only what is surely backdrop starts as backdrop; GrabCut settles the rest.
    centre = _centre(*mask.shape)
    if centred:
        mask[centre] = cv2.GC_PR_FGD
    mask[distance < (_CENTRED_SURE if centred else _BUSY_SURE)] = cv2.GC_BGD
    mask[border] = cv2.GC_BGD
    if not (mask == cv2.GC_PR_FGD).any():  # nothing stands out: let the most distinct pixels compete
        mask[(distance >= np.quantile(distance, 0.8)) & ~border] = cv2.GC_PR_FGD
    if (mask == cv2.GC_PR_FGD).sum() < 10:
        return np.zeros(mask.shape, bool)
    models = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    image = np.ascontiguousarray(rgb[:, :, ::-1]).astype(np.uint8)
    cv2.grabCut(image, mask, None, *models, _GRABCUT_ROUNDS, cv2.GC_INIT_WITH_MASK)  # type: ignore[call-overload]  # the stubs omit the documented None
    subject = _keep_subject((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD))
    if centred:
        # Pieces of the photo that stand out away from the centre are its content, not the subject.
        subject = _without_bridged_pieces(_keep_touching(subject, centre), centre)
    return _fill_small_holes(_fill_unlike_holes(subject, distance))


def _without_subject_at_bottom(features: np.ndarray, border: np.ndarray) -> np.ndarray:
    """The border less the middle of its bottom edge when that looks unlike the rest of the border:
    a person or an object running out of the frame there, which must not teach GrabCut the backdrop."""
    height, width = border.shape
    bottom = np.zeros_like(border)
    bottom[height // 2 :, width // 4 : width - width // 4] = True
    bottom &= border
    rest = border & ~bottom
    if bottom.sum() < 20 or rest.sum() < 50:
        return border
    distance = _nearest_cluster_distance(features[bottom][None], features[rest], _BORDER_CLUSTERS)
    return rest if float(np.quantile(distance, 0.25)) > _BOTTOM_UNLIKE else border


def _keep_touching(mask: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The mask's components that touch the region; the whole mask when none does."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    touching = np.zeros(count, bool)
    touching[np.unique(labels[region & mask])] = True
    touching[0] = False
    return touching[labels] if touching.any() else mask


def _without_bridged_pieces(mask: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The mask less the broad pieces joined to the subject only by a thin bridge (a motorbike's lamp
    grown onto a cat sitting in front of it); thin parts of the subject's own (legs, spokes) stay."""
    opened = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, _disc(_BRIDGE)) > 0
    count, labels = cv2.connectedComponents(opened.astype(np.uint8), connectivity=8)
    if count <= 2:
        return mask
    touching = np.zeros(count, bool)
    touching[np.unique(labels[region & opened])] = True
    touching[0] = False
    if not touching.any():
        return mask
    grow = _disc(_BRIDGE + 1)
    near_other = cv2.dilate((opened & ~touching[labels]).astype(np.uint8), grow) > 0
    near_kept = cv2.dilate((opened & touching[labels]).astype(np.uint8), grow) > 0
    return mask & ~(near_other & ~near_kept)


def _centre(height: int, width: int) -> np.ndarray:
    """True inside the ellipse around the frame's centre where a subject is most often placed."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    return ((xx + 0.5) / width - 0.5) ** 2 + ((yy + 0.5) / height - 0.5) ** 2 < _CENTRE**2


def _fill_unlike_holes(subject: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Fill the holes enclosed by the subject that do not look like the backdrop seen at the border."""
    count, labels = cv2.connectedComponents(_enclosed(subject).astype(np.uint8), connectivity=4)
    if count <= 1:
        return subject
    medians = np.array([np.median(values) for values in np.split(*_grouped(distance, labels, count))])
    unlike = medians >= _HOLE_UNLIKE
    unlike[0] = False  # label 0 is the subject and the backdrop around it
    return subject | unlike[labels]


def _grouped(values: np.ndarray, labels: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Values sorted by label and the split points between labels (for per-label statistics)."""
    order = np.argsort(labels, axis=None, kind="stable")
    bounds = np.searchsorted(labels.ravel()[order], np.arange(1, count))
    return values.ravel()[order], bounds


def _person_subject(
    rgb: np.ndarray, lab: np.ndarray, border: np.ndarray, faces: list[Face], probability: np.ndarray | None
) -> np.ndarray:
    """Subject mask around the people found: each face implies a body, the person model says which
    pixels belong to that person, GrabCut settles the outline and adds what they hold.

    The frame's border is backdrop except where a body runs into it (cut by the bottom edge); what the
    border's colour-and-texture model calls certain backdrop stays backdrop outside the bodies.
    """
    height, width = border.shape
    sure = np.zeros((height, width), bool)
    likely = np.zeros((height, width), bool)
    for face in faces:
        face_sure, face_likely = body_prior(face, height, width)
        sure |= face_sure
        likely |= face_likely
    person, person_sure = _modelled_people(probability, sure)
    likely |= person
    sure |= person_sure
    features = _texture_features(lab)
    trusted = _consistent_border(lab, border & ~likely) if (border & ~likely).sum() > 50 else border & ~likely
    distance = _nearest_cluster_distance(features, features[trusted], _BORDER_CLUSTERS)
    mask = np.full((height, width), cv2.GC_PR_BGD, np.uint8)
    mask[distance >= _BUSY_NEAR] = cv2.GC_PR_FGD
    mask[(distance < _BUSY_SURE) & ~likely] = cv2.GC_BGD
    mask[likely] = cv2.GC_PR_FGD
    mask[border & ~likely] = cv2.GC_BGD
    mask[sure] = cv2.GC_FGD
    models = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    image = np.ascontiguousarray(rgb[:, :, ::-1]).astype(np.uint8)
    cv2.grabCut(image, mask, None, *models, _GRABCUT_ROUNDS, cv2.GC_INIT_WITH_MASK)  # type: ignore[call-overload]  # the stubs omit the documented None
    subject = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    # Only what is joined to a person belongs to them: stray look-alikes in the backdrop go.
    count, labels = cv2.connectedComponents(subject.astype(np.uint8), connectivity=8)
    joined = np.zeros(count, bool)
    joined[np.unique(labels[sure & subject])] = True
    joined[0] = False
    return _fill_small_holes(joined[labels] | person, 0.002)


def _modelled_people(probability: np.ndarray | None, faces_sure: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The person model's people that hold a found face (the model alone also fires on look-alikes),
    and their confident core; both empty when the model is not available."""
    empty = np.zeros(faces_sure.shape, bool)
    if probability is None:
        return empty, empty
    count, labels = cv2.connectedComponents((probability > _PERSON).astype(np.uint8))
    holds_face = np.zeros(count, bool)
    holds_face[np.unique(labels[faces_sure])] = True
    holds_face[0] = False
    person = holds_face[labels]
    confident = (person & (probability > _PERSON_SURE)).astype(np.uint8)
    return person, cv2.erode(confident, np.ones((9, 9), np.uint8)) > 0


def _agreeing_salient(rgb: np.ndarray, subject: np.ndarray) -> np.ndarray | None:
    """The salient model's view when it agrees with the colour cut-out on what the subject is (a bottle
    whose sides match the backdrop); None when it disagrees (it fills a wheel's openings) or is missing."""
    probability = salient_probability(rgb)
    if probability is None:
        return None
    salient = probability > _SALIENT
    agreement = (salient & subject).sum() / max(int((salient | subject).sum()), 1)
    return probability if agreement >= _SALIENT_AGREES else None


def _wants_body_prior(subject: np.ndarray, faces: list[Face]) -> bool:
    """True when a body guessed from the faces should steer the cut: the plain cut-out missed a face
    (a person the backdrop model cannot tell apart), or it holds the face and runs down to the frame's
    bottom edge below it (the body the prior draws). A held face above a subject that ends inside the
    frame is more likely fur or texture that passes for a face, so the plain cut-out stands."""
    height, width = subject.shape
    bottom = subject[-max(1, round(height * 0.02)) :]
    for face in faces:
        sure, _ = body_prior(face, height, width)
        if sure.any() and float(subject[sure].mean()) < _FACE_HELD:
            return True
        left = max(0, round(face.x - face.width))
        right = min(width, round(face.x + 2 * face.width))
        if right > left and float(bottom[:, left:right].mean()) > _BODY_AT_BOTTOM:
            return True
    return False


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
    image: np.ndarray,
    background: np.ndarray,
    subject: np.ndarray,
    near: np.ndarray,
    openings: np.ndarray,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Alpha and subject colour at full size when the background is known everywhere (smooth backdrops).

    Alpha is the share of the way from backdrop colour to subject colour, I = aF + (1 - a)B solved by
    projection, with F spread from the subject's solid interior (mixed edge pixels would bias it).
    """
    scale = max(subject.shape) / 1000
    difference = image - background
    distance = np.sqrt(_dot(difference, difference))
    deep = cv2.erode(subject.astype(np.uint8), _disc(max(1, round(_DEEP * scale)))) > 0
    solid = (deep & (distance > 3 * threshold)).astype(np.float32)
    if solid.sum() < 0.2 * deep.sum():
        solid = deep.astype(np.float32)
    # A fringe of strands or fur lies inside the mask yet is part backdrop, and lends the subject colour
    # a tint of it (alpha too high beside every strand): keep as solid only the pixels that reach most of
    # the way to a first, smooth estimate of that colour, then estimate it in detail from them.
    rough = _fill_half(image, solid, _spread(scale)) - background
    unmixed = solid * (_dot(difference, rough) > _UNMIXED * _dot(rough, rough))
    foreground = _subject_colour(image, unmixed if unmixed.sum() > 0.5 * solid.sum() else solid, scale)
    direction = foreground - background
    strength = _dot(direction, direction)
    along = _dot(difference, direction)
    projected = np.clip(along / np.maximum(strength, 1.0), 0, 1)
    # Where subject and backdrop colours are close the projection is unreliable; trust the mask there.
    reliable = np.clip((np.sqrt(strength) - 15) / 30, 0, 1)
    estimate = projected * reliable + subject * (1 - reliable)
    # Deep inside, texture must not thin the subject out; only backdrop showing through (between
    # spokes) is let through.
    stretched = np.clip((projected - _RAMP) / (1 - 2 * _RAMP), 0, 1)
    inside = stretched * reliable + (1 - reliable)
    alpha = np.where(deep, inside, np.where(near & (distance > threshold), estimate, 0.0))
    # Strands of another colour than the subject's (grey spokes by a red frame, white whiskers by brown
    # fur) are not explained by the projection; in a wheel's opening nothing of the subject is solid.
    # |difference - projected * direction|, expanded so no full-size colour array is made.
    unexplained = np.sqrt(np.maximum(distance**2 - 2 * projected * along + projected**2 * strength, 0))
    own_colour = unexplained > _UNEXPLAINED * np.maximum(distance, 1.0)
    alpha = np.maximum(alpha, _thin_alpha(distance, threshold) * (openings | (near & own_colour)))
    # Where the subject's colour borrowed from nearby does not explain a pixel that clearly differs from
    # the backdrop (lettering under a logo, a printed label), the mask decides. It comes from the work
    # size, so its outline is trusted only a couple of pixels in.
    within = cv2.erode(subject.astype(np.uint8), _disc(max(1, round(max(subject.shape) / _WORK_SIDE)))) > 0
    clearly = distance > _clear_difference(threshold)
    # Outside the solid interior the mask decides only at a line's crest: the half-covered pixels beside a
    # spoke or strand differ clearly too, but by less than the line itself.
    crest = distance > _CREST * cv2.dilate(distance.astype(np.float32), np.ones((5, 5), np.uint8))
    alpha = np.maximum(alpha, within & own_colour & clearly & (deep | crest))
    return alpha.astype(np.float32), foreground


def _subject_colour(image: np.ndarray, solid: np.ndarray, scale: float) -> np.ndarray:
    """The subject's own colour everywhere: the nearest colour of the solid pixels close to them, a
    smooth spread of them further out."""
    foreground = _fill_half(image, solid, _spread(scale))
    nearest = _nearest_colour(image, solid > 0, round(_PURE * scale), _REACH * scale)
    if nearest is not None:
        colour, close = nearest
        foreground = np.where(close[:, :, None], colour, foreground)
    return foreground


def _spread(scale: float) -> tuple[float, float, float]:
    """Blur widths (px) over which the subject's colour is spread from its solid pixels, finest first."""
    return (3.0 * scale + 1, 12.0 * scale, 48.0 * scale)


def _thin_alpha(distance: np.ndarray, threshold: float) -> np.ndarray:
    """Alpha of strands and spokes a pixel or two wide, whatever their colour (grey spokes on a red frame).

    A thin line is what an opening of the difference from the backdrop removes (shadows and solid parts
    survive it); each line pixel's alpha follows its share of the line's strongest pixels nearby, where
    the line runs through pixel centres and covers them fully. The share is squared: pixels beside the
    line, half covered by antialiasing and JPEG blur, must not widen it.
    """
    ridge = distance - cv2.morphologyEx(distance, cv2.MORPH_OPEN, np.ones((_THIN_WIDTH,) * 2, np.uint8))
    peak = cv2.dilate(ridge, np.ones((_THIN_REACH,) * 2, np.uint8))
    strong = peak > _clear_difference(threshold)
    return np.where(strong, (ridge / np.maximum(peak, 1.0)) ** 2, 0.0)


def _nearest_colour(
    image: np.ndarray, solid: np.ndarray, depth: int, reach: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """Each pixel's nearest pure subject colour, from solid pixels at least `depth` inside the subject,
    and where that pure pixel is within `reach` (soft edges mix over many pixels; deeper colours are unmixed).
    """
    pure = cv2.erode(solid.astype(np.uint8), _disc(max(1, depth))) > 0
    if pure.sum() < 50:
        return None
    distance, labels = cv2.distanceTransformWithLabels(
        (~pure).astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
    )
    smooth = cv2.GaussianBlur(image, (0, 0), 1.5)
    ys, xs = np.nonzero(pure)
    # Labels number the zero pixels of the input in row-major scan order, starting at 1.
    return smooth[ys, xs][labels - 1], distance <= reach + depth


def _clear_difference(threshold: float) -> float:
    """RGB distance from the backdrop beyond which a pixel clearly belongs to something else."""
    return max(_THIN_STRONG * threshold, _THIN_FLOOR)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel dot product of two colour images (several times faster than summing a product)."""
    return np.einsum("ijk,ijk->ij", a, b)


def _disc(radius: int) -> np.ndarray:
    """A round structuring element of the given radius."""
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _fill_half(values: np.ndarray, weights: np.ndarray, sigmas: tuple[float, ...]) -> np.ndarray:
    """_fill_from at half size and brought back: for slowly varying colours, at a quarter of the cost."""
    height, width = weights.shape
    half_w, half_h = max(1, width // 2), max(1, height // 2)
    filled = _fill_from(
        _resize(values, half_w, half_h), _resize(weights, half_w, half_h), tuple(s / 2 for s in sigmas)
    )
    return cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR)


def _scaled(face: Face, scale: float) -> Face:
    """The face's box at another scale of the image."""
    return Face(face.x * scale, face.y * scale, face.width * scale, face.height * scale, face.looks)


def _matte_by_guided_filter(
    rgb: np.ndarray, subject_small: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Alpha at full size from a work-size mask snapped to image edges; backdrop and subject colours."""
    height, width = rgb.shape[:2]
    full = rgb.astype(np.float32)
    soft = _resize(subject_small.astype(np.float32), width, height)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    radius = max(2, round(max(width, height) / 300))
    alpha = np.clip(_guided_filter(grey, soft, radius, 1e-3), 0, 1)
    alpha = np.clip((alpha - 0.1) / 0.8, 0, 1)
    scale_px = max(width, height) / 1000
    clear = (alpha < 0.02).astype(np.float32)
    background = _fill_half(full, clear, (4.0 * scale_px, 16.0 * scale_px, 64.0 * scale_px))
    core = (alpha > 0.98).astype(np.float32)
    foreground = _fill_half(full, core, (4.0 * scale_px, 16.0 * scale_px, 64.0 * scale_px))
    return alpha, background, foreground


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
    person = person_probability(small)
    # The face cascades cost more than the rest of a cut-out's analysis; where the person model sees
    # no one, there is no face to find.
    anyone = person is None or float((person > _PERSON).mean()) > _ANYONE
    faces = [_scaled(face, scale) for face in find_faces(rgb)] if anyone else []
    busy = _busy(lab, border)
    if busy:
        # Where faces are found, their bodies (not the frame's centre) say where the subject is.
        subject_small = _busy_subject(small, lab, border, centred=not faces)
    else:
        background_lab, residual, threshold, reached = _smooth_background(lab, border)
        backdrop = cv2.cvtColor(background_lab, cv2.COLOR_Lab2RGB) * 255
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
        barrier = _edge_barrier(grey, work_w, work_h)
        subject_small = _shadow_free_subject(small, backdrop, residual, threshold, barrier, reached)
    if faces and _wants_body_prior(subject_small, faces):
        subject_small = _person_subject(small, lab, border, faces, person)
        alpha, background, foreground = _matte_by_guided_filter(rgb, subject_small)
    elif busy:
        alpha, background, foreground = _matte_by_guided_filter(rgb, subject_small)
    else:
        salient = _agreeing_salient(small, subject_small)
        if salient is not None:
            subject_small |= salient > _SALIENT_SURE
        # The backdrop as it really is around the subject, shadows included, for matting at full size.
        clear = cv2.erode((~subject_small).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
        long_side = max(work_w, work_h)
        backdrop = _fill_from(small, clear, (long_side * 0.01 + 1, long_side * 0.04, long_side * 0.2))
        background = _resize(backdrop, width, height)
        subject = _resize(subject_small.astype(np.float32), width, height) > 0.5
        # Strands and whiskers reach past the mask: look for them within a band around it.
        band = cv2.dilate(subject_small.astype(np.uint8), _disc(max(1, round(long_side * _BAND))))
        near = _resize(band.astype(np.float32), width, height) > 0
        rgb_noise = _noise_threshold(np.linalg.norm(small - backdrop, axis=2), clear > 0, 6.0)
        # Spokes cross a wheel's opening far from any edge of the mask.
        openings = _resize(_enclosed(subject_small).astype(np.float32), width, height) > 0
        alpha, foreground = _matte_known_background(full, background, subject, near, openings, rgb_noise)
        if salient is not None:  # where the subject's colour matches the backdrop, matting cannot see it
            alpha = np.maximum(alpha, _resize(salient, width, height) > _SALIENT_SURE)
    # Decontaminate: solve the compositing equation for the subject colour where alpha is partial.
    partial = (alpha > 0) & (alpha < 0.999)
    a = alpha[partial][:, None]
    solved = (full[partial] - (1 - a) * background[partial]) / np.maximum(a, 0.05)
    trust = np.clip((a - 0.3) / 0.5, 0, 1)
    colour = rgb.copy()
    colour[partial] = (
        np.clip(solved * trust + foreground[partial] * (1 - trust), 0, 255).round().astype(np.uint8)
    )
    out = np.dstack([colour, (alpha * 255).round().astype(np.uint8)])
    return Image.fromarray(out, "RGBA")
