"""``field``: an attrs field with validation rules that also describe themselves in OpenAPI."""

from __future__ import annotations

import re
from collections.abc import Sequence, Sized
from typing import Any

import attrs

from lumiku.http.files import UploadedFile
from lumiku.wording import plural

_SCHEMA_KEY = "openapi"
_INTERNAL = ("strip", "maxBytes", "mediaTypes")  # rules that are not JSON Schema keywords

DEFAULT_FILE_LIMIT = 1024 * 1024
"""Size limit in bytes of a file field declared without ``max_bytes``."""


class FieldRuleError(ValueError):
    """A value breaks a rule declared with ``field``; ``name`` is the attribute's name."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


@attrs.frozen
class FileLimits:
    """The rules of a file field: its size limit in bytes and its accepted media types."""

    max_bytes: int = DEFAULT_FILE_LIMIT
    media_types: tuple[str, ...] = ()


def rule_problems(rules: dict[str, Any], value: Any) -> list[str]:
    """Return every rule of ``rules`` that ``value`` breaks, as messages (``[]`` when none).

    ``rules`` are the OpenAPI keywords ``field`` recorded (``minLength``, ``maximum``, ...).
    """
    if value is None:
        return []
    problems: list[str] = []
    if isinstance(value, str):
        value_len = len(value.strip()) if rules.get("strip") else len(value)
        if "minLength" in rules and value_len < rules["minLength"]:
            problems.append(f"must be at least {plural(rules['minLength'], 'character')}")
        if "maxLength" in rules and len(value) > rules["maxLength"]:
            problems.append(f"must be at most {plural(rules['maxLength'], 'character')}")
        if "pattern" in rules and not re.fullmatch(rules["pattern"], value):
            problems.append(f"must match {rules['pattern']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in rules and value < rules["minimum"]:
            problems.append(f"must be at least {rules['minimum']}")
        if "maximum" in rules and value > rules["maximum"]:
            problems.append(f"must be at most {rules['maximum']}")
    if isinstance(value, Sized) and not isinstance(value, str | bytes):
        if "minItems" in rules and len(value) < rules["minItems"]:
            problems.append(f"must have at least {plural(rules['minItems'], 'item')}")
        if "maxItems" in rules and len(value) > rules["maxItems"]:
            problems.append(f"must have at most {plural(rules['maxItems'], 'item')}")
    if "enum" in rules and value not in rules["enum"]:
        problems.append(f"must be one of {', '.join(map(str, rules['enum']))}")
    if isinstance(value, UploadedFile):
        if "mediaTypes" in rules and not _accepts(rules["mediaTypes"], value.content_type):
            problems.append(f"must be a file of type {', '.join(rules['mediaTypes'])}")
        if "maxBytes" in rules and value.size > rules["maxBytes"]:
            problems.append(f"must be at most {plural(rules['maxBytes'], 'byte')}")
    return problems


def _accepts(media_types: Sequence[str], content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip().lower()
    return any(
        media_type == accepted or (accepted.endswith("/*") and media_type.startswith(accepted[:-1]))
        for accepted in media_types
    )


def _check(rules: dict[str, Any]) -> Any:
    if "pattern" in rules:
        re.compile(rules["pattern"])  # a bad pattern fails at declaration, not per request

    def validate(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        problems = rule_problems(rules, value)
        if problems:
            # attrs runs validators in __init__, outside cattrs' per-field error notes:
            # carry the field's name so that the 422 says which field broke the rule.
            raise FieldRuleError(attribute.name, "; ".join(problems))

    return validate


def field(
    *,
    default: Any = attrs.NOTHING,
    factory: Any = None,
    min_length: int | None = None,
    max_length: int | None = None,
    ge: float | None = None,
    le: float | None = None,
    pattern: str | None = None,
    choices: Sequence[Any] | None = None,
    min_items: int | None = None,
    max_items: int | None = None,
    strip: bool = False,
    max_bytes: int | None = None,
    media_types: Sequence[str] | None = None,
    description: str | None = None,
    example: Any = None,
) -> Any:
    """Return an attrs field that validates the given rules and documents them in OpenAPI.

    Text: ``min_length``/``max_length`` (characters; ``strip=True`` counts the minimum
    without surrounding spaces), ``pattern`` (a full match). Numbers: ``ge``/``le``.
    Anything: ``choices``. Lists and tuples: ``min_items``/``max_items``. Files of a form
    (``UploadedFile``): ``max_bytes`` (default 1 MiB; a larger file is 413 while it is read)
    and ``media_types`` (the accepted part ``Content-Type`` values; another is 422).
    Raises ``re.error`` for a pattern that does not compile.
    """
    rules: dict[str, Any] = {}
    for key, value in (
        ("minLength", min_length),
        ("maxLength", max_length),
        ("minimum", ge),
        ("maximum", le),
        ("pattern", pattern),
        ("minItems", min_items),
        ("maxItems", max_items),
        ("description", description),
        ("example", example),
    ):
        if value is not None:
            rules[key] = value
    if choices is not None:
        rules["enum"] = list(choices)
    if strip:
        rules["strip"] = True
    if max_bytes is not None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be a positive number of bytes")
        rules["maxBytes"] = max_bytes
    if media_types is not None:
        rules["mediaTypes"] = [media_type.lower() for media_type in media_types]
    kwargs: dict[str, Any] = {"validator": _check(rules), "metadata": {_SCHEMA_KEY: rules}}
    if factory is not None:
        kwargs["factory"] = factory
    elif default is not attrs.NOTHING:
        kwargs["default"] = default
    return attrs.field(**kwargs)


def field_rules(attribute: attrs.Attribute[Any]) -> dict[str, Any]:
    """Return the rules ``field`` recorded for ``attribute`` (``{}`` for a plain attrs field)."""
    return dict(attribute.metadata.get(_SCHEMA_KEY, {}))


def file_limits(attribute: attrs.Attribute[Any]) -> FileLimits:
    """Return the size limit and media types of a file field (the defaults when undeclared)."""
    rules = field_rules(attribute)
    return FileLimits(rules.get("maxBytes", DEFAULT_FILE_LIMIT), tuple(rules.get("mediaTypes", ())))


def schema_rules(attribute: attrs.Attribute[Any]) -> dict[str, Any]:
    """Return the OpenAPI keywords a ``field`` declared (minus internal ones).

    A ``pattern`` is anchored (``^(?:...)$``) because the server matches it in full and JSON
    Schema patterns search.
    """
    rules = field_rules(attribute)
    strip = rules.get("strip")
    for key in _INTERNAL:
        rules.pop(key, None)
    if strip and rules.get("minLength"):
        note = "counted without surrounding spaces"
        rules["description"] = (
            f"{rules['description']} ({note})" if "description" in rules else note
        )
    if "pattern" in rules:
        rules["pattern"] = f"^(?:{rules['pattern']})$"
    return rules
