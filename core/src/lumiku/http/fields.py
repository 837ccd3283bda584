"""``field``: an attrs field with validation rules that also describe themselves in OpenAPI."""

from __future__ import annotations

import re
from collections.abc import Sequence, Sized
from typing import Any

import attrs

_SCHEMA_KEY = "openapi"


class FieldRuleError(ValueError):
    """A value breaks a rule declared with ``field``; ``name`` is the attribute's name."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def _check(rules: dict[str, Any]) -> Any:
    pattern = re.compile(rules["pattern"]) if "pattern" in rules else None

    def validate(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        try:
            check(value)
        except ValueError as exc:
            # attrs runs validators in __init__, outside cattrs' per-field error notes:
            # carry the field's name so that the 422 says which field broke the rule.
            raise FieldRuleError(attribute.name, str(exc)) from None

    def check(value: Any) -> None:
        if value is None:
            return
        if isinstance(value, str):
            value_len = len(value.strip()) if rules.get("strip") else len(value)
            if "minLength" in rules and value_len < rules["minLength"]:
                raise ValueError(f"must be at least {rules['minLength']} characters")
            if "maxLength" in rules and len(value) > rules["maxLength"]:
                raise ValueError(f"must be at most {rules['maxLength']} characters")
            if pattern is not None and not pattern.fullmatch(value):
                raise ValueError(f"must match {rules['pattern']}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            if "minimum" in rules and value < rules["minimum"]:
                raise ValueError(f"must be at least {rules['minimum']}")
            if "maximum" in rules and value > rules["maximum"]:
                raise ValueError(f"must be at most {rules['maximum']}")
        if isinstance(value, Sized) and not isinstance(value, str):
            if "maxItems" in rules and len(value) > rules["maxItems"]:
                raise ValueError(f"must have at most {rules['maxItems']} items")
            if "minItems" in rules and len(value) < rules["minItems"]:
                raise ValueError(f"must have at least {rules['minItems']} items")
        if "enum" in rules and value not in rules["enum"]:
            raise ValueError(f"must be one of {', '.join(map(str, rules['enum']))}")

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
    choices: Sequence[str] | None = None,
    min_items: int | None = None,
    max_items: int | None = None,
    strip: bool = False,
    description: str | None = None,
    example: Any = None,
) -> Any:
    """Return an attrs field that validates the given rules and documents them in OpenAPI."""
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
    kwargs: dict[str, Any] = {"validator": _check(rules), "metadata": {_SCHEMA_KEY: rules}}
    if factory is not None:
        kwargs["factory"] = factory
    elif default is not attrs.NOTHING:
        kwargs["default"] = default
    return attrs.field(**kwargs)


def schema_rules(attribute: attrs.Attribute[Any]) -> dict[str, Any]:
    """Return the OpenAPI keywords a ``field`` declared (minus internal ones)."""
    rules = dict(attribute.metadata.get(_SCHEMA_KEY, {}))
    rules.pop("strip", None)
    return rules
