"""Leaf package every layer may use: the settings and the error base. It imports nothing of lvo's own."""

from core.errors import ConfigError, LvoError
from core.faults import COMMIT_STEPS, DATABASE_COMMIT_STEPS, DATABASE_SWAP_STEPS, KILL_AT, SWAP_STEPS, kill_point
from core.settings import MODES, ChunkingOptions, Settings, index_location, is_database, load_settings

__all__ = [
    "COMMIT_STEPS",
    "DATABASE_COMMIT_STEPS",
    "DATABASE_SWAP_STEPS",
    "KILL_AT",
    "MODES",
    "SWAP_STEPS",
    "ChunkingOptions",
    "ConfigError",
    "LvoError",
    "Settings",
    "index_location",
    "is_database",
    "kill_point",
    "load_settings",
]
