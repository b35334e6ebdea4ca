"""Follow-up questions: „Und in Leipzig?“ after a question about Dresden is searched in that context."""

from __future__ import annotations

import re
from collections.abc import Iterable

from index import analyze

_FOLLOW_UP_START = re.compile(
    r"^\s*(und|aber|sowie|auch|was ist mit|was war mit|wie ist es mit|wie war es mit|wie sieht es|"
    r"wie steht es|gilt das auch|dasselbe|das gleiche|ebenso|genauso)\b", re.IGNORECASE)
_LEAD_WORDS = re.compile(
    r"^\s*(und|aber|sowie|auch|was ist mit|was war mit|wie ist es mit|wie war es mit|wie sieht es mit|"
    r"wie sieht es in|wie sieht es bei|wie steht es mit|wie steht es um|gilt das auch für|gilt das auch in|"
    r"dasselbe für|dasselbe in|das gleiche für|das gleiche in|ebenso in|genauso in)\b\s*", re.IGNORECASE)
_TRAILING = re.compile(r"\s*(aus|dort|da|auch)?\s*[?!.]*\s*$", re.IGNORECASE)
_PLACE_PREFIX = re.compile(r"^(in|im|bei|für|aus|der|die|den|dem|des)\s+", re.IGNORECASE)
SHORT_QUESTION_TERMS = 2


def is_follow_up(message: str) -> bool:
    """A question that cannot stand alone: it starts like „Und …“ or has at most two content terms."""
    return bool(_FOLLOW_UP_START.match(message)) or len(analyze(message)) <= SHORT_QUESTION_TERMS - 1


def _named(text: str, names: Iterable[str]) -> list[str]:
    """The names (communes, regions) mentioned in `text`, longest first."""
    found = []
    for name in sorted(set(names), key=len, reverse=True):
        if re.search(rf"(?<!\w){re.escape(name)}", text, re.IGNORECASE) and not any(name in f for f in found):
            found.append(name)
    return found


def _core(message: str) -> str:
    """The message without its follow-up lead words and trailing punctuation: „Und in Leipzig?“ → „Leipzig“."""
    core = _TRAILING.sub("", _LEAD_WORDS.sub("", message.strip()))
    return _PLACE_PREFIX.sub("", core).strip()


def contextual_query(message: str, previous: str | None, names: Iterable[str] = ()) -> str:
    """What to search for `message`, given the previous searched query of the conversation.

    A follow-up that names another commune replaces the commune of the previous question; any other
    follow-up adds its words to the previous question. Questions that stand alone are searched as they are.
    """
    message = message.strip()
    if not previous or not is_follow_up(message):
        return message
    names = list(names)
    core = _core(message)
    new_names, old_names = _named(message, names), _named(previous, names)
    if new_names and old_names:
        query = previous
        for old in old_names:
            query = re.sub(rf"(?<!\w){re.escape(old)}\w*", new_names[0], query, flags=re.IGNORECASE)
        return query
    if not core:
        return previous
    return f"{previous.rstrip(' ?!.')} – {core}"
