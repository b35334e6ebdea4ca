"""The errors of generation; their messages are shown in the chat and the CLI (German, one line)."""

from core import LvoError


class GenerationError(LvoError):
    """The language model could not produce an answer; the extractive answer is still shown."""
