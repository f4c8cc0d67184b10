"""Render the Local Studio previews of the documentation's three example prompts into one contact sheet.

python -m docs.make_preview_sheet         # writes docs/preview-contact-sheet.png
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from lib.local_studio.engines import output_size, render_preview

PROMPTS = (
    ("A serene Japanese garden with cherry blossoms", "3:2"),
    ("A futuristic city skyline at night with neon lights", "16:9"),
    ("A cute robot reading a book in a cozy library", "4:3"),
)
TILE_HEIGHT = 300
MARGIN = 16
CAPTION = 46
OUTPUT = Path(__file__).resolve().parent / "preview-contact-sheet.png"


def contact_sheet() -> Image.Image:
    """The three previews side by side at one height, each captioned with its prompt and ratio."""
    tiles = []
    for prompt, ratio in PROMPTS:
        width, height = output_size(ratio)
        preview = render_preview(prompt, width, height)
        tiles.append(
            preview.resize((round(width * TILE_HEIGHT / height), TILE_HEIGHT), Image.Resampling.LANCZOS)
        )
    sheet_width = sum(tile.width for tile in tiles) + MARGIN * (len(tiles) + 1)
    sheet = Image.new("RGB", (sheet_width, TILE_HEIGHT + CAPTION + 2 * MARGIN), (250, 250, 248))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=15)
    small = ImageFont.load_default(size=12)
    x = MARGIN
    for tile, (prompt, ratio) in zip(tiles, PROMPTS, strict=True):
        sheet.paste(tile, (x, MARGIN))
        draw.text((x, MARGIN + TILE_HEIGHT + 8), prompt, font=font, fill=(30, 30, 35))
        draw.text(
            (x, MARGIN + TILE_HEIGHT + 28),
            f"{ratio} · {output_size(ratio)[0]} x {output_size(ratio)[1]} px",
            font=small,
            fill=(110, 110, 120),
        )
        x += tile.width + MARGIN
    return sheet


def main() -> None:
    """Write the sheet as a compact PNG (a 256-colour palette keeps it small for the README)."""
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT
    sheet = contact_sheet().quantize(
        colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG
    )
    sheet.save(target, optimize=True)
    print(f"{target.name}: {sheet.width}x{sheet.height}, {target.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
