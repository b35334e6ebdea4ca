"""A thin client for any OpenAI-compatible chat-completions server (Ollama, vLLM, llama.cpp, LM Studio, gateways).

Every failure of the endpoint becomes a `GenerationError` with a German one-line message. Messages never
contain the API key or the server's response body (it could echo the request).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core import Settings
from generate.errors import GenerationError

if TYPE_CHECKING:
    import openai

API_KEY_VARIABLE = "LVO_LLM_API_KEY"
NO_KEY = "lvo"  # local servers need no key, but the client library insists on one
BROKEN_STREAM = "Die Verbindung zum Sprachmodell ist während der Antwort abgebrochen."
ENDED_EMPTY = ("Das Sprachmodell hat ohne Antwort abgebrochen; vermutlich sind Frage und Belegstellen zu lang für "
               "sein Kontextfenster: weniger Belegstellen wählen.")
CONTEXT_HINTS = ("context length", "context window", "context_length", "maximum context", "too long", "n_ctx")


@dataclass(frozen=True)
class Endpoint:
    url: str
    model: str
    timeout: float
    max_tokens: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Endpoint:
        return cls(settings.llm_url, settings.llm_model, settings.llm_timeout, settings.llm_max_tokens)


class ChatClient:
    """Streams one chat completion at a time per call; safe to share between threads."""

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint
        self._client = _openai().OpenAI(
            base_url=endpoint.url, api_key=os.environ.get(API_KEY_VARIABLE) or NO_KEY, max_retries=0,
            timeout=_openai().Timeout(endpoint.timeout, connect=min(10.0, endpoint.timeout)))

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """The answer's text in pieces as they arrive; stops with a `GenerationError` at the overall timeout."""
        deadline = time.monotonic() + self.endpoint.timeout
        try:
            response = self._client.chat.completions.create(
                model=self.endpoint.model, messages=messages, stream=True, temperature=0.0,
                max_tokens=self.endpoint.max_tokens)
        except _openai().APIError as error:
            raise self._translate(error) from None
        finished, produced = False, False
        with response:
            try:
                for chunk in response:
                    if time.monotonic() > deadline:
                        raise GenerationError(self._too_slow())
                    piece = chunk.choices[0].delta.content if chunk.choices else None
                    finished = finished or bool(chunk.choices and chunk.choices[0].finish_reason)
                    if piece:
                        produced = True
                        yield piece
            except (_openai().APIError, *_transport_errors()) as error:
                raise self._translate(error, streaming=True) from None
        if not finished:  # every server ends a complete answer with a finish reason
            raise GenerationError(BROKEN_STREAM if produced else ENDED_EMPTY)

    def complete(self, messages: list[dict[str, str]]) -> str:
        return "".join(self.stream(messages))

    def _too_slow(self) -> str:
        return f"Das Sprachmodell hat nicht innerhalb von {self.endpoint.timeout:g} s geantwortet."

    def _translate(self, error: Exception, streaming: bool = False) -> GenerationError:
        where, openai = self.endpoint.url, _openai()
        if isinstance(error, openai.APITimeoutError):
            return GenerationError(self._too_slow())
        if isinstance(error, openai.APIConnectionError):
            if streaming:
                return GenerationError(BROKEN_STREAM)
            return GenerationError(f"Das Sprachmodell unter {where} ist nicht erreichbar.")
        if isinstance(error, openai.APIStatusError):
            return GenerationError(_status_message(error, self.endpoint))
        if streaming:
            return GenerationError(BROKEN_STREAM)
        return GenerationError(f"Das Sprachmodell unter {where} hat unerwartet geantwortet.")


def _openai():
    """The openai package, imported on first use: lvo without a language model starts a second sooner."""
    import openai

    return openai


@functools.cache
def _transport_errors() -> tuple[type[Exception], ...]:
    """What openai may let through unwrapped while a stream runs: httpx's errors, or httpx2's in newer releases."""
    return tuple(importlib.import_module(name).HTTPError for name in ("httpx", "httpx2")
                 if importlib.util.find_spec(name))


def _status_message(error: openai.APIStatusError, endpoint: Endpoint) -> str:
    status = error.status_code
    text = str(getattr(error, "message", "") or "").lower()
    if status in (400, 413) and any(hint in text for hint in CONTEXT_HINTS):
        return ("Frage und Belegstellen sind zu lang für das Kontextfenster des Sprachmodells; "
                "weniger Belegstellen wählen.")
    if status in (401, 403):
        return f"Das Sprachmodell verweigert den Zugriff (HTTP {status}); {API_KEY_VARIABLE} prüfen."
    if status == 404:
        return f"Modell {endpoint.model!r} oder Adresse {endpoint.url} am Sprachmodell-Server nicht gefunden " \
               "(HTTP 404)."
    if status == 429:
        return "Das Sprachmodell ist ausgelastet (HTTP 429); bitte später erneut versuchen."
    return f"Das Sprachmodell hat mit einem Fehler geantwortet (HTTP {status})."
