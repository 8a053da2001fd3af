"""Trigger filters: legacy ``filter.attributes`` and the ``filters`` dialects.

CESQL subset (CloudEvents SQL v1.0), enough for type and variant routing:
``AND``, ``OR``, ``NOT``, parentheses, ``EXISTS attr``, comparisons ``=``, ``!=``,
``<>``, ``<``, ``<=``, ``>``, ``>=``, ``[NOT] LIKE 'pat%_'``, ``[NOT] IN (...)``,
string/integer/boolean literals, keywords in any case. A comparison that reads
a missing attribute is false (CESQL reports an error and the filter fails).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

Attributes = Mapping[str, str]
_NAME = re.compile(r"^[a-z][a-z0-9]*$")
_DIALECTS = ("exact", "prefix", "suffix", "all", "any", "not", "cesql")


def legacy_matches(expected: Mapping[str, str], attributes: Attributes) -> bool:
    """``filter.attributes``: every key exists; ``""`` means any non-empty value."""
    for name, value in expected.items():
        actual = attributes.get(name.lower())
        if actual is None or (value == "" and actual == "") or (value != "" and actual != value):
            return False
    return True


def matches(filters: tuple[Mapping[str, Any], ...] | list, attributes: Attributes) -> bool:
    """``filters``: every item is true (an empty list is true)."""
    return all(_item(item, attributes) for item in filters)


def check_filters(filters: tuple | list) -> None:
    """Admission checks Knative's webhook makes: one dialect per item, valid names, valid CESQL."""
    for item in filters:
        _check(item)


def _check(item: Any) -> None:
    if not isinstance(item, Mapping):
        raise ValueError(f"each filter is an object, got {item!r}")
    dialects = [k for k in item if k in _DIALECTS]
    if len(dialects) != 1 or len(item) != 1:
        raise ValueError(f"multiple dialects found, filters can have only one dialect set: {item}")
    (dialect,) = dialects
    value = item[dialect]
    if dialect in ("exact", "prefix", "suffix"):
        if not isinstance(value, Mapping) or not value:
            raise ValueError(f"{dialect} needs a map of attribute → value")
        for name in value:
            if not _NAME.match(name):
                raise ValueError(f"attribute name {name!r} must match ^[a-z][a-z0-9]*$")
    elif dialect in ("all", "any"):
        if not isinstance(value, list):
            raise ValueError(f"{dialect} needs a list of filters")
        for nested in value:
            _check(nested)
    elif dialect == "not":
        _check(value)
    else:
        _compile(str(value))


def _item(item: Mapping[str, Any], attributes: Attributes) -> bool:
    ((dialect, value),) = item.items()
    if dialect == "exact":
        return all(attributes.get(k) == str(v) for k, v in value.items())
    if dialect == "prefix":
        return all((attributes.get(k) or "\0").startswith(str(v)) for k, v in value.items())
    if dialect == "suffix":
        return all(
            attributes.get(k) is not None and attributes[k].endswith(str(v))
            for k, v in value.items()
        )
    if dialect == "all":
        return all(_item(nested, attributes) for nested in value)
    if dialect == "any":
        return any(_item(nested, attributes) for nested in value)
    if dialect == "not":
        return not _item(value, attributes)
    return bool(_compile(str(value))(attributes))


# --- CESQL -------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")|(?P<num>-?\d+)|"
    r"(?P<op><>|!=|<=|>=|=|<|>|\(|\)|,)|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)
_MISSING = object()
Expression = Callable[[Attributes], Any]


@cache
def _compile(text: str) -> Expression:
    tokens = _tokenize(text)
    parser = _Parser(tokens, text)
    expression = parser.expression()
    if parser.position != len(tokens):
        raise ValueError(f"CESQL: unexpected {tokens[parser.position][1]!r} in {text!r}")
    return expression


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match:
            raise ValueError(f"CESQL: cannot read {text[position:]!r}")
        position = match.end()
        kind = match.lastgroup
        raw = match[kind]
        if kind == "str":
            tokens.append(("lit", raw[1:-1].replace(raw[0] * 2, raw[0])))
        elif kind == "num":
            tokens.append(("lit", int(raw)))
        elif kind == "word" and raw.upper() in ("TRUE", "FALSE"):
            tokens.append(("lit", raw.upper() == "TRUE"))
        elif kind == "word" and raw.upper() in ("AND", "OR", "NOT", "EXISTS", "LIKE", "IN"):
            tokens.append(("kw", raw.upper()))
        elif kind == "word":
            tokens.append(("attr", raw.lower()))
        else:
            tokens.append(("op", raw))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]], text: str) -> None:
        self.tokens, self.text, self.position = tokens, text, 0

    def peek(self, kind: str, value: Any = None) -> bool:
        if self.position >= len(self.tokens):
            return False
        token = self.tokens[self.position]
        return token[0] == kind and (value is None or token[1] == value)

    def take(self, kind: str, value: Any = None) -> Any:
        if not self.peek(kind, value):
            found = self.tokens[self.position][1] if self.position < len(self.tokens) else "end"
            raise ValueError(f"CESQL: expected {value or kind}, found {found!r} in {self.text!r}")
        self.position += 1
        return self.tokens[self.position - 1][1]

    def expression(self) -> Expression:
        left = self.conjunction()
        while self.peek("kw", "OR"):
            self.take("kw", "OR")
            right = self.conjunction()
            left = (lambda a, b: lambda e: _truth(a(e)) or _truth(b(e)))(left, right)
        return left

    def conjunction(self) -> Expression:
        left = self.negation()
        while self.peek("kw", "AND"):
            self.take("kw", "AND")
            right = self.negation()
            left = (lambda a, b: lambda e: _truth(a(e)) and _truth(b(e)))(left, right)
        return left

    def negation(self) -> Expression:
        if self.peek("kw", "NOT"):
            self.take("kw", "NOT")
            inner = self.negation()
            return lambda e: not _truth(inner(e))
        return self.comparison()

    def comparison(self) -> Expression:
        left = self.primary()
        negate = False
        following = self.tokens[self.position + 1 : self.position + 2]
        if self.peek("kw", "NOT") and following and following[0] in (("kw", "LIKE"), ("kw", "IN")):
            self.take("kw", "NOT")
            negate = True
        if self.peek("kw", "LIKE"):
            self.take("kw", "LIKE")
            pattern = _like(self.take("lit"))
            test = lambda e: _defined(left(e), lambda v: bool(pattern.match(str(v))))  # noqa: E731
        elif self.peek("kw", "IN"):
            self.take("kw", "IN")
            self.take("op", "(")
            options = [self.take("lit")]
            while self.peek("op", ","):
                self.take("op", ",")
                options.append(self.take("lit"))
            self.take("op", ")")
            test = lambda e: _defined(left(e), lambda v: any(_eq(v, o) for o in options))  # noqa: E731
        elif (
            self.position < len(self.tokens)
            and self.tokens[self.position][0] == "op"
            and self.tokens[self.position][1] in ("=", "!=", "<>", "<", "<=", ">", ">=")
        ):
            operator = self.take("op")
            right = self.primary()
            return lambda e: _compare(operator, left(e), right(e))
        else:
            return left
        return (lambda e: not test(e)) if negate else test

    def primary(self) -> Expression:
        if self.peek("kw", "EXISTS"):
            self.take("kw", "EXISTS")
            name = self.take("attr")
            return lambda e: name in e
        if self.peek("op", "("):
            self.take("op", "(")
            inner = self.expression()
            self.take("op", ")")
            return inner
        if self.peek("lit"):
            value = self.take("lit")
            return lambda e: value
        name = self.take("attr")
        return lambda e: e.get(name, _MISSING)


def _truth(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _defined(value: Any, test: Callable[[Any], bool]) -> bool:
    return value is not _MISSING and test(value)


def _eq(left: Any, right: Any) -> bool:
    if isinstance(right, bool) or isinstance(left, bool):
        return str(left).lower() == str(right).lower()
    if isinstance(right, int) or isinstance(left, int):
        try:
            return int(left) == int(right)
        except (TypeError, ValueError):
            return False
    return str(left) == str(right)


def _compare(operator: str, left: Any, right: Any) -> bool:
    if left is _MISSING or right is _MISSING:
        return False
    if operator == "=":
        return _eq(left, right)
    if operator in ("!=", "<>"):
        return not _eq(left, right)
    try:
        a, b = (
            (int(left), int(right))
            if isinstance(right, int) or isinstance(left, int)
            else (
                str(left),
                str(right),
            )
        )
    except (TypeError, ValueError):
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operator]


def _like(pattern: str) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
    return re.compile("^" + "".join(parts) + "$", re.DOTALL)
