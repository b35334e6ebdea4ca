"""Generation stage: formulated answers from the user's own language model, each sentence checked against the
passages it cites. Sits between chat/eval and index; without `llm_url` nothing here is used.

What other packages may use: the names in `__all__`.
"""

from generate.answer import Generator, known_names
from generate.check import CheckedSentence, GeneratedAnswer, SentenceChecker, split_generated
from generate.client import ChatClient, Endpoint
from generate.errors import GenerationError
from generate.prompt import build_messages

__all__ = [
    "ChatClient",
    "CheckedSentence",
    "Endpoint",
    "GeneratedAnswer",
    "GenerationError",
    "Generator",
    "SentenceChecker",
    "build_messages",
    "known_names",
    "split_generated",
]
