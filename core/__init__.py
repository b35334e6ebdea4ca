"""Leaf package every layer may use: the settings and the error base. It imports nothing of lvo's own."""

from core.errors import ConfigError, LvoError
from core.settings import MODES, ChunkingOptions, Settings, load_settings

__all__ = ["MODES", "ChunkingOptions", "ConfigError", "LvoError", "Settings", "load_settings"]
