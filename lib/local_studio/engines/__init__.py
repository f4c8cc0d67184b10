"""Offline engines of the Local Studio: prompt enhancement, background removal, preview and edits."""

from lib.local_studio.engines.background import remove_background
from lib.local_studio.engines.enhance import enhance_prompt
from lib.local_studio.engines.preview import edit_image, output_size, render_preview

__all__ = ["edit_image", "enhance_prompt", "output_size", "remove_background", "render_preview"]
