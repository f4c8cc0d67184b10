"""The Local Studio: an offline server that speaks the Image Studio API on this machine."""

from lib.local_studio.app import create_app
from lib.local_studio.config import DEMO_API_KEY, StudioConfig
from lib.local_studio.runner import LocalStudioHandle, start_local_studio

__all__ = ["DEMO_API_KEY", "LocalStudioHandle", "StudioConfig", "create_app", "start_local_studio"]
