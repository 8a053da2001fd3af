"""Reading a model's final answer: the JSON object in it, checked against a schema and
for text copied from the prompt.

:func:`read_answer` is the one way an answer is read; the runtime calls it once per
agent run, with the answer schema and the instructions of the step that asked.
A small model fills a schema's strings with what its prompt showed it (a template slot
such as ``<one or two sentences>``, a sentence of its instructions, a server's "no more
tool calls" instruction): such an answer is as unusable as one that breaks the schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)
#: Instructions a model server or framework gives the model during a run; one of them
#: in an answer means the model copied its prompt (the embedded server's last-round
#: instruction of earlier versions among them).
MODEL_INSTRUCTIONS = (
    "no more tool calls are possible",
    "give your final response now",
    "answer with exactly one json object",
    "answer with only one json object",
)
#: A template slot: lower-case words in angle brackets (``<what is wrong and why>``).
_SLOT = re.compile(r"<[a-z][a-z0-9 ,'|/_-]{0,58}>")
_WORD = re.compile(r"[a-z0-9']+")
#: A string that says something has a letter or a digit ("},", ":{" do not).
_WORDY = re.compile(r"\w")
#: Template slots in braces: words (``{team member}``), or two or more empty ``{}`` in one
#: string (one ``{}`` may be code: "a mutable default {}").
_BRACE_SLOT = re.compile(r"\{[a-z]+(?: [a-z]+)+\}")
_EMPTY_SLOT = re.compile(r"\{\s*\}")
#: A run of this many words of the instructions, copied into an answer, is an echo.
ECHO_WORDS = 10


class UnusableAnswer(ValueError):
    """A final answer that is no JSON object, or one that breaks the answer schema."""


def parse_json_answer(text: str) -> dict[str, Any]:
    """Extract the JSON object from a final answer (code fences and prose tolerated)."""
    fenced = _FENCE.search(text)
    candidate = fenced.group(1) if fenced else text
    start, end = candidate.find("{"), candidate.rfind("}")
    if start < 0 or end < start:
        raise UnusableAnswer("the answer contains no JSON object")
    try:
        answer = json.loads(candidate[start : end + 1])
    except ValueError as problem:
        raise UnusableAnswer(str(problem)) from None
    if not isinstance(answer, dict):
        raise UnusableAnswer("the answer is not a JSON object")
    return answer


def check_answer(answer: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Raise :class:`UnusableAnswer` naming every field of ``answer`` that breaks ``schema``
    (``path: problem``, joined by ``; ``; ``(answer)`` is the object itself)."""
    problems = [
        ("/".join(str(part) for part in error.absolute_path) or "(answer)", error.message)
        for error in Draft202012Validator(schema).iter_errors(answer)
    ]
    if problems:
        raise UnusableAnswer("; ".join(f"{path}: {message}" for path, message in sorted(problems)))


def strings_in(value: Any) -> list[str]:
    """Every string inside a JSON value, depth first."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [text for item in value.values() for text in strings_in(item)]
    if isinstance(value, list):
        return [text for item in value for text in strings_in(item)]
    return []


def _runs(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + ECHO_WORDS]) for i in range(len(words) - ECHO_WORDS + 1)}


def copied_text(answer: Mapping[str, Any], instructions: str = "") -> list[str]:
    """What the strings of ``answer`` copy instead of saying something: template slots
    (one of several words always, in angle brackets or braces; a one-word slot like
    ``<file>`` only when the instructions show it: ``<script>`` in a review is a
    finding; two or more empty ``{}`` in one string), a run of
    :data:`ECHO_WORDS` words of the instructions, or one of :data:`MODEL_INSTRUCTIONS`.
    Empty: nothing copied."""
    shown = set(_SLOT.findall(instructions))
    echoes = _runs(instructions)
    copied: list[str] = []
    for text in strings_in(answer):
        lowered = text.lower()
        copied += [s for s in _SLOT.findall(text) if " " in s or "|" in s or s in shown]
        copied += [phrase for phrase in MODEL_INSTRUCTIONS if phrase in lowered]
        copied += _BRACE_SLOT.findall(text)
        if len(_EMPTY_SLOT.findall(text)) >= 2:
            copied.append(text[:80])
        copied += [" ".join(run) for run in sorted(_runs(text) & echoes)[:1]]
    return copied


def read_answer(text: str, schema: Mapping[str, Any], instructions: str = "") -> dict[str, Any]:
    """The JSON object in ``text``, checked against ``schema``, for text copied from the
    prompt (:func:`copied_text`) and for strings of punctuation only; else
    :class:`UnusableAnswer`."""
    answer = parse_json_answer(text)
    check_answer(answer, schema)
    copied = copied_text(answer, instructions)
    if copied:
        quoted = ", ".join(repr(snippet) for snippet in dict.fromkeys(copied))
        raise UnusableAnswer(f"it copies its prompt instead of answering: {quoted}"[:500])
    empty = [repr(text) for text in strings_in(answer) if text and not _WORDY.search(text)]
    if empty:
        raise UnusableAnswer(f"it says nothing in {', '.join(empty[:3])}"[:500])
    return answer
