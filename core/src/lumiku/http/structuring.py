"""Structure wire data into attrs classes, reporting every failing field and rule at once.

cattrs' generated functions stop at the first rule error, because attrs runs validators in
``__init__``. The structure function here converts every field, checks each converted
value against the rules ``field`` declared and the field's other validators, collects the
problems of all fields (missing, unknown, wrong type, broken rule, nested objects and list
items included), and only then builds the instance. ``structure`` turns the problems into
one ``ValidationFailed`` whose ``details["fields"]`` maps camelCase paths such as
``items[2].name`` to what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs

from lumiku import errors
from lumiku.http.fields import FieldRuleError, field_rules, rule_problems
from lumiku.http.files import UploadedFile
from lumiku.http.naming import to_camel

T = TypeVar("T")
_STRUCTURING_ERRORS = (cattrs.BaseValidationError, ValueError, TypeError, KeyError)


def wire_type(value: Any) -> str:
    """Return the JSON name of ``value``'s type, for messages (``a string``, ``an array``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, UploadedFile):
        return "a file"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


def _noted(exc: Exception, attribute: attrs.Attribute[Any]) -> Exception:
    exc.__notes__ = [
        cattrs.AttributeValidationNote(
            f"Structuring field {attribute.name}", attribute.name, attribute.type
        )
    ]
    return exc


def _field_problem(attribute: attrs.Attribute[Any], value: Any) -> Exception | None:
    """Return the rule problems of one converted value, or ``None`` when it is fine."""
    problems = rule_problems(field_rules(attribute), value)
    if not problems and attribute.validator is not None:
        try:
            # Instance-free validators (``field``'s rules, ``@x.validator`` checks of the
            # value) report here with the field's name; one that needs the instance fails
            # with another error, is skipped, and runs in ``__init__`` below.
            attribute.validator(None, attribute, value)
        except (ValueError, TypeError) as exc:
            problems = [str(exc) or type(exc).__name__]
        except Exception:  # noqa: BLE001, S110 - needs the instance: checked by __init__
            pass
    if not problems:
        return None
    return FieldRuleError(attribute.name, "; ".join(problems))


def make_class_structure(converter: cattrs.Converter, cls: type[T]) -> Callable[[Any, type], T]:
    """Return a structure function for the attrs class ``cls`` (camelCase keys, all errors).

    Raises ``cattrs.ClassValidationError`` holding every problem, each annotated with its
    field; unknown keys are one ``cattrs.ForbiddenExtraKeysError``.
    """
    attrs.resolve_types(cls)  # type: ignore[type-var]  # cattrs calls this for attrs classes only
    fields = [(a, to_camel(a.name)) for a in attrs.fields(cls) if a.init]  # type: ignore[arg-type]
    accepted = {wire for _, wire in fields}

    def structure(data: Any, _: type) -> T:
        if not isinstance(data, Mapping):
            raise TypeError(f"expected an object, got {wire_type(data)}")
        problems: list[Exception] = []
        values: dict[str, Any] = {}
        for attribute, wire in fields:
            if wire not in data:
                if attribute.default is attrs.NOTHING:
                    problems.append(_noted(ValueError("is required"), attribute))
                continue
            try:
                value = converter.structure(data[wire], attribute.type)
            except _STRUCTURING_ERRORS as exc:
                problems.append(_noted(exc, attribute))
                continue
            problem = _field_problem(attribute, value)
            if problem is not None:
                problems.append(_noted(problem, attribute))
                continue
            values[attribute.alias] = value
        extra = set(data) - accepted
        if extra:
            problems.append(cattrs.ForbiddenExtraKeysError("", cls, extra))
        if problems:
            raise cattrs.ClassValidationError(f"While structuring {cls.__name__}", problems, cls)
        try:
            return cls(**values)
        except (ValueError, TypeError) as exc:  # a check across fields (__attrs_post_init__)
            raise cattrs.ClassValidationError(
                f"While structuring {cls.__name__}", [exc], cls
            ) from None

    return structure


def structure_items(
    converter: cattrs.Converter, items: Iterable[Any], item_type: Any, tp: Any
) -> list[Any]:
    """Structure each item as ``item_type``; raise one error naming every failing index."""
    out: list[Any] = []
    problems: list[Exception] = []
    for index, item in enumerate(items):
        try:
            out.append(converter.structure(item, item_type))
        except _STRUCTURING_ERRORS as exc:
            exc.__notes__ = [
                cattrs.IterableValidationNote(f"Structuring {tp} @ index {index}", index, item_type)
            ]
            problems.append(exc)
    if problems:
        raise cattrs.IterableValidationError(f"While structuring {tp!r}", problems, tp)
    return out


def _walk(exc: BaseException, path: str, out: dict[str, str]) -> None:
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        for key in sorted(exc.extra_fields):
            out[f"{path}.{key}" if path else key] = "is not an accepted field"
        return
    if isinstance(exc, cattrs.ClassValidationError | cattrs.IterableValidationError):
        with_notes, without_notes = exc.group_exceptions()
        for inner, note in with_notes:
            label: Any = note
            if isinstance(label, cattrs.AttributeValidationNote):
                name = to_camel(label.name)
                child = f"{path}.{name}" if path else name
            elif isinstance(label, cattrs.IterableValidationNote):
                child = f"{path}[{label.index}]"
            else:
                child = path
            _walk(inner, child, out)
        for inner in without_notes:
            _walk(inner, path, out)
        return
    if isinstance(exc, FieldRuleError) and not path:
        path = to_camel(exc.name)
    message = "is required" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
    out[path] = f"{out[path]}; {message}" if path in out else message


def describe_errors(exc: BaseException, *, where: str = "body") -> dict[str, str]:
    """Return ``{"field.path": "what is wrong"}`` for a structuring error.

    Paths are camelCase as on the wire (``items[2].name``); a problem of the whole
    document (not an object, a check across fields) is named ``where``.
    """
    out: dict[str, str] = {}
    _walk(exc, "", out)
    if "" in out:
        out[where] = out.pop("")
    return out


def structure(converter: cattrs.Converter, data: Any, cls: type[T], *, where: str) -> T:
    """Structure ``data`` as ``cls``; raise ``ValidationFailed`` naming every failing field.

    ``where`` names the document in messages (``"request body"``, ``"query string"``).
    """
    try:
        return converter.structure(data, cls)
    except _STRUCTURING_ERRORS as exc:
        raise validation_failed(describe_errors(exc, where=where), where=where) from None


def validation_failed(fields: Mapping[str, str], *, where: str) -> errors.ValidationFailed:
    """Return the 422 error for ``fields`` (``{"path": "problem"}``), naming each in its message."""
    summary = "; ".join(f"{name}: {problem}" for name, problem in fields.items())
    return errors.ValidationFailed(
        f"The {where} breaks the schema: {summary}", details={"fields": dict(fields)}
    )
