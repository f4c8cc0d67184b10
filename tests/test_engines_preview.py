"""Preview sizes, determinism and prompt-driven look; edits that do what the prompt asks, same size."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from lib.contract import ASPECT_RATIOS, aspect_ratio_value
from lib.local_studio.engines import edit_image, output_size, render_preview


@pytest.mark.parametrize("ratio", [*ASPECT_RATIOS, None])
def test_output_size_is_about_one_megapixel(ratio: str | None) -> None:
    """Every offered ratio (and none, meaning 1:1) gives ~1 MP with sides in multiples of 16."""
    width, height = output_size(ratio)
    assert width % 16 == 0 and height % 16 == 0
    assert 0.85e6 < width * height < 1.15e6
    assert abs(width / height - aspect_ratio_value(ratio or "1:1")) < 0.03


def test_output_size_refuses_unknown_ratio() -> None:
    """A ratio outside the contract is an error, not a silent square."""
    with pytest.raises(ValueError):
        output_size("5:1")


def luma(image: Image.Image) -> np.ndarray:
    """Grey levels of an image as floats."""
    return np.asarray(image.convert("L")).astype(np.float32)


def test_preview_is_rgb_of_the_requested_size_and_orientation() -> None:
    """Portrait and landscape ratios come back exactly as asked, in RGB."""
    tall = render_preview("a lighthouse on a cliff", *output_size("9:16"))
    wide = render_preview("a lighthouse on a cliff", *output_size("21:9"))
    assert tall.mode == "RGB" and wide.mode == "RGB"
    assert tall.size == output_size("9:16") and tall.height > tall.width
    assert wide.size == output_size("21:9") and wide.width > wide.height


def test_preview_is_deterministic_per_prompt() -> None:
    """The same prompt renders the same pixels; another prompt renders something else."""
    first = np.asarray(render_preview("A serene Japanese garden with cherry blossoms", 640, 480))
    again = np.asarray(render_preview("A serene Japanese garden with cherry blossoms", 640, 480))
    other = np.asarray(render_preview("A serene Japanese garden with cherry blossoms at night", 640, 480))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize(
    ("prompt", "channel"),
    [
        ("a red abstract composition", 0),
        ("a green abstract composition", 1),
        ("a blue abstract composition", 2),
        ("a calm sea under a red sky", 0),
        ("a calm sea under a blue sky", 2),
    ],
)
def test_palette_follows_colour_words(prompt: str, channel: int) -> None:
    """A named colour dominates the image's average colour."""
    means = np.asarray(render_preview(prompt, 512, 512)).reshape(-1, 3).mean(0)
    assert int(np.argmax(means)) == channel, means


def test_night_is_darker_than_day() -> None:
    """Night scenes are rendered darker than the same scene by day."""
    assert (
        luma(render_preview("a city skyline at night", 512, 384)).mean() + 30
        < luma(render_preview("a city skyline at noon", 512, 384)).mean()
    )


def test_scene_words_change_the_composition() -> None:
    """Mountains, a forest or the sea each make a clearly different picture."""
    images = [luma(render_preview(f"a quiet {scene}", 512, 384)) for scene in ("mountain", "forest", "ocean")]
    for a in range(3):
        for b in range(a + 1, 3):
            assert np.abs(images[a] - images[b]).mean() > 8


def test_black_and_white_style_is_grey() -> None:
    """A noir or black and white prompt renders without colour."""
    pixels = np.asarray(render_preview("a noir street at night", 512, 384)).astype(int)
    assert np.abs(pixels[:, :, 0] - pixels[:, :, 2]).max() <= 2


def test_pixel_art_style_is_made_of_blocks() -> None:
    """Pixel art shows big square pixels: most pixels equal their right-hand neighbour."""
    pixels = np.asarray(render_preview("pixel art of a forest in winter", 512, 384))
    same = (pixels[:, 1:] == pixels[:, :-1]).all(axis=2).mean()
    assert same > 0.8


def test_watercolor_style_is_soft_and_pale() -> None:
    """Watercolor is paler and softer (less fine detail) than the default finish of the same scene."""
    plain = luma(render_preview("a lake with mountains at sunset", 512, 384))
    washed = luma(render_preview("a watercolor lake with mountains at sunset", 512, 384))
    assert washed.mean() > plain.mean()


def test_preview_carries_a_small_label() -> None:
    """A small light-on-dark 'Preview' label sits in the lower right corner."""
    image = luma(render_preview("a red abstract composition", 1024, 1024))
    corner = image[-60:, -160:]
    assert corner.max() > 200
    assert (corner < image[-300:-200, -300:-200].mean()).any()


@pytest.fixture(scope="module")
def photo(samples_dir: Path) -> Image.Image:
    """A sample colour photo to edit."""
    return Image.open(samples_dir / "astronaut.jpg").convert("RGB")


EDITS = [
    "black and white",
    "sepia",
    "make it warmer",
    "cooler please",
    "brighter",
    "darker",
    "blur the photo",
    "sharpen",
    "pixelate it",
    "watercolor painting",
    "mirror",
    "upside down",
    "invert",
    "more contrast",
    "a pencil sketch",
    "something unrecognised",
]


@pytest.mark.parametrize("prompt", EDITS)
def test_edit_keeps_the_size(photo: Image.Image, prompt: str) -> None:
    """Every edit returns an image of the input's size that differs from the input."""
    edited = edit_image(prompt, photo)
    assert edited.size == photo.size
    assert not np.array_equal(np.asarray(edited.convert("RGB")), np.asarray(photo))


def test_black_and_white_edit_is_grey(photo: Image.Image) -> None:
    """'black and white' gives R = G = B everywhere."""
    pixels = np.asarray(edit_image("make it black and white", photo))
    assert np.array_equal(pixels[:, :, 0], pixels[:, :, 1]) and np.array_equal(
        pixels[:, :, 1], pixels[:, :, 2]
    )


def test_sepia_edit_is_brown(photo: Image.Image) -> None:
    """Sepia orders the channels red over green over blue."""
    means = np.asarray(edit_image("sepia", photo)).reshape(-1, 3).mean(0)
    assert means[0] > means[1] > means[2]


def test_warmer_and_cooler_shift_red_and_blue(photo: Image.Image) -> None:
    """Warmer raises red against blue; cooler lowers it."""

    def red_minus_blue(image: Image.Image) -> float:
        means = np.asarray(image).reshape(-1, 3).astype(float).mean(0)
        return float(means[0] - means[2])

    assert red_minus_blue(edit_image("warmer", photo)) > red_minus_blue(photo) + 5
    assert red_minus_blue(edit_image("cooler", photo)) < red_minus_blue(photo) - 5


def test_brighter_and_darker(photo: Image.Image) -> None:
    """Brighter raises and darker lowers the mean grey level."""
    assert luma(edit_image("brighter", photo)).mean() > luma(photo).mean() + 10
    assert luma(edit_image("darker", photo)).mean() < luma(photo).mean() - 10


def test_blur_and_sharpen_change_detail(photo: Image.Image) -> None:
    """Blur lowers and sharpen raises the fine detail (variance of the Laplacian)."""

    def detail(image: Image.Image) -> float:
        return float(cv2.Laplacian(luma(image), cv2.CV_32F).var())

    assert detail(edit_image("blur", photo)) < detail(photo) * 0.5
    assert detail(edit_image("sharpen", photo)) > detail(photo) * 1.2


def test_mirror_and_upside_down_are_exact(photo: Image.Image) -> None:
    """Mirror flips left-right and upside down flips top-bottom, pixel for pixel."""
    pixels = np.asarray(photo)
    assert np.array_equal(np.asarray(edit_image("mirror", photo)), pixels[:, ::-1])
    assert np.array_equal(np.asarray(edit_image("upside down", photo)), pixels[::-1])


def test_pixelate_edit_makes_blocks(photo: Image.Image) -> None:
    """Pixelate makes most pixels equal to their neighbour."""
    pixels = np.asarray(edit_image("pixelate", photo))
    assert (pixels[:, 1:] == pixels[:, :-1]).all(axis=2).mean() > 0.8


def test_edit_keeps_transparency() -> None:
    """An RGBA input keeps its alpha through a colour edit."""
    image = Image.new("RGBA", (120, 80), (200, 100, 50, 255))
    image.putpixel((5, 5), (0, 0, 0, 0))
    edited = edit_image("black and white", image)
    assert edited.mode == "RGBA" and edited.size == image.size
    assert edited.getpixel((5, 5))[3] == 0 and edited.getpixel((60, 40))[3] == 255
