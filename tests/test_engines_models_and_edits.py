"""Offline edits follow the request (ratio, every input image); the two models draw different previews."""

from __future__ import annotations

import base64
import io

import cv2
import numpy as np
import requests
from PIL import Image, ImageFilter

from lib.local_studio import LocalStudioHandle
from lib.local_studio.engines import edit_image, output_size, render_preview
from lib.local_studio.engines.preview import label_text

PRO, KLEIN = "flux-2-pro", "flux-2-klein-9b"
TIMEOUT = 60


def detail(image: Image.Image) -> float:
    """Mean absolute Laplacian of the luma: how much fine detail the image has."""
    grey = np.asarray(image.convert("L")).astype(np.float32)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())


def solid(colour: tuple[int, int, int], size: tuple[int, int] = (300, 200)) -> Image.Image:
    """A plain image of one colour."""
    return Image.new("RGB", size, colour)


def data_url(image: Image.Image) -> str:
    """An image as a PNG data: URL, the way the client sends input images."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_edit_comes_out_at_the_requested_size() -> None:
    """Given a size (the aspect ratio's), an edit of one photo has that size, the photo covering it."""
    size = output_size("16:9")
    edited = edit_image("make it warmer", solid((90, 120, 200), (400, 400)), size)
    assert edited.size == size


def test_edit_uses_every_input_image_side_by_side() -> None:
    """Two inputs are both in the result: one fills the left half, the other the right half."""
    size = output_size("16:9")
    edited = np.asarray(edit_image("mirror", [solid((220, 30, 30)), solid((30, 30, 220))], size)).astype(int)
    width = size[0]
    left, right = edited[:, : width // 2 - 4].mean((0, 1)), edited[:, width // 2 + 4 :].mean((0, 1))
    # Mirrored: the first image ends up on the right.
    assert right[0] > 200 and right[2] < 50
    assert left[2] > 200 and left[0] < 50


def test_models_draw_visibly_different_previews() -> None:
    """klein draws a simpler preview (less fine detail) than pro, of the same scene and size."""
    prompt = "A serene Japanese garden with cherry blossoms"
    width, height = 512, 384
    pro = render_preview(prompt, width, height, PRO)
    klein = render_preview(prompt, width, height, KLEIN)
    assert pro.size == klein.size == (width, height)
    assert detail(pro) > detail(klein) * 1.3
    difference = np.abs(np.asarray(pro).astype(int) - np.asarray(klein).astype(int)).mean()
    assert difference > 4


def test_preview_label_names_the_model() -> None:
    """The label says which model drew the preview, and the two labels are drawn differently."""
    assert KLEIN in label_text(KLEIN) and PRO in label_text(PRO)
    assert label_text(KLEIN).startswith("Preview")
    corner = (slice(-40, None), slice(-260, None))
    pro = np.asarray(render_preview("a plain grey wall", 1024, 1024, PRO).convert("L"))[corner]
    klein = np.asarray(render_preview("a plain grey wall", 1024, 1024, KLEIN).convert("L"))[corner]
    assert ((pro > 200) != (klein > 200)).mean() > 0.02  # different words in white


def test_local_studio_edit_honours_ratio_and_all_images(local_studio: LocalStudioHandle) -> None:
    """Over HTTP, an edit of two images at 16:9 is 16:9 at the ratio's size and shows both images."""
    body = {
        "prompt": "make it brighter",
        "model": KLEIN,
        "aspect_ratio": "16:9",
        "input_image": data_url(solid((200, 40, 40))),
        "input_image_2": data_url(solid((40, 40, 200))),
    }
    headers = {"Authorization": f"Bearer {local_studio.api_key}"}
    response = requests.post(local_studio.endpoint, json=body, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    result = response.json()
    image = Image.open(io.BytesIO(requests.get(result["image_url"], timeout=TIMEOUT).content)).convert("RGB")
    assert image.size == output_size("16:9")
    pixels = np.asarray(image).astype(int)
    assert pixels[:, : image.width // 3, 0].mean() > 150  # the first image, red, on the left
    assert pixels[:, -image.width // 3 :, 2].mean() > 150  # the second, blue, on the right


def test_local_studio_compare_previews_differ(local_studio: LocalStudioHandle) -> None:
    """Over HTTP, the same prompt drawn by pro and by klein gives two different images."""
    headers = {"Authorization": f"Bearer {local_studio.api_key}"}
    images = []
    for model in (PRO, KLEIN):
        body = {"prompt": "a lighthouse on a cliff", "model": model, "aspect_ratio": "1:1"}
        response = requests.post(local_studio.endpoint, json=body, headers=headers, timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        content = requests.get(response.json()["image_url"], timeout=TIMEOUT).content
        images.append(Image.open(io.BytesIO(content)).convert("RGB"))
    assert detail(images[0]) > detail(images[1]) * 1.3


def test_one_style_list_for_previews_and_edits() -> None:
    """A style word means the same in an edit as in a preview: "painterly" is oil paint in both."""
    from lib.local_studio.engines import styles

    assert styles.style_of("a painterly portrait") == "oil"
    photo = Image.fromarray(
        np.random.default_rng(3).integers(0, 255, (120, 160, 3), dtype=np.uint8), "RGB"
    ).filter(ImageFilter.GaussianBlur(2))
    painterly = np.asarray(edit_image("make it painterly", photo))
    oil = np.asarray(Image.fromarray(styles.oil_paint(np.asarray(photo)), "RGB"))
    assert np.array_equal(painterly, oil)
