"""Offline engines of the Local Studio: prompt enhancement, background removal, preview and edits."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lib.local_studio.engines.background import remove_background
    from lib.local_studio.engines.enhance import enhance_prompt
    from lib.local_studio.engines.preview import edit_image, output_size, render_preview

__all__ = ["edit_image", "enhance_prompt", "output_size", "remove_background", "render_preview"]

# Each engine is imported on first use (OpenCV and NumPy among them), so starting the Local Studio,
# and with it the app's first page, does not wait for libraries no request has needed yet.
_MODULE_OF = {
    "edit_image": "preview",
    "enhance_prompt": "enhance",
    "output_size": "preview",
    "remove_background": "background",
    "render_preview": "preview",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value
