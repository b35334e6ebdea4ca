"""One formulated answer: prompt the configured model with the shown passages, then check every sentence."""

from __future__ import annotations

from collections.abc import Iterator

from core import Settings
from generate.check import GeneratedAnswer, SentenceChecker
from generate.client import ChatClient, Endpoint
from generate.facts import NAME_INTRODUCERS
from generate.prompt import build_messages
from index import Embedder, Hit, Index


def known_names(index: Index) -> frozenset[str]:
    """The communes and Länder of the index's metadata, word by word („Kreis Lippe“ gives „Lippe“)."""
    facets = index.catalog.facets()
    values = [str(value) for key in ("kommune", "bundesland") for value in facets.get(key, [])]
    return frozenset(word.strip(",;()") for value in values for word in value.split()
                     if word[:1].isupper() and word.rstrip(".") not in NAME_INTRODUCERS)


class Generator:
    """The configured endpoint plus the check; one per server or command, shared by its threads."""

    def __init__(self, endpoint: Endpoint, embedder: Embedder, min_similarity: float,
                 names: frozenset[str] = frozenset()):
        self.endpoint = endpoint
        self.client = ChatClient(endpoint)
        self.checker = SentenceChecker(embedder, min_similarity, names)

    @classmethod
    def from_settings(cls, settings: Settings, index: Index) -> Generator | None:
        """None when no endpoint is configured: then every answer stays extractive."""
        if not settings.generation_enabled:
            return None
        return cls(Endpoint.from_settings(settings), index.embedder, settings.llm_min_similarity, known_names(index))

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str]:
        """The answer's text as it arrives; nothing (and no model call) when retrieval found no passage."""
        if not hits:
            return iter(())
        return self.client.stream(build_messages(question, hits))

    def check(self, text: str, hits: list[Hit]) -> GeneratedAnswer:
        return self.checker.check(text, hits, self.endpoint.model)

    def answer(self, question: str, hits: list[Hit]) -> GeneratedAnswer | None:
        if not hits:
            return None
        return self.check("".join(self.stream(question, hits)), hits)
