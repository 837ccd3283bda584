"""Compose the text prompt of a generation from the user's prompt, persona and attributes.

Every provider uses this one function, so the same request always yields the same prompt:
the local renderer hashes it into its random seed, the Hugging Face provider sends it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lumiku.images.provider import ATTRIBUTE_KEYS, PERSONA_KEYS, ImageRequest

_MAX_VALUE = 200  # keeps one runaway field from crowding out the rest of the prompt


def _clean(value: str) -> str:
    text = re.sub(r"\s+", " ", value).strip()
    return text[:_MAX_VALUE].rstrip()


def _known(mapping: Mapping[str, str], key: str) -> str:
    return _clean(mapping.get(key, ""))


def _subject(attributes: Mapping[str, str], persona: Mapping[str, str]) -> str:
    name = _known(persona, "name")
    age = _known(persona, "age") or _known(attributes, "ageRange")
    words = [
        f"aged {age}" if age else "",
        _known(attributes, "ethnicity"),
        _known(attributes, "gender") or "person",
    ]
    subject = " ".join(word for word in words if word)
    return f"{name}, {subject}" if name else subject


def _features(attributes: Mapping[str, str]) -> list[str]:
    features = []
    if body := _known(attributes, "bodyType"):
        features.append(f"{body} build")
    hair = " ".join(
        w for w in (_known(attributes, "hairColor"), _known(attributes, "hairStyle")) if w
    )
    if hair:
        features.append(f"{hair} hair")
    if eyes := _known(attributes, "eyeColor"):
        features.append(f"{eyes} eyes")
    if skin := _known(attributes, "skinTone"):
        features.append(f"{skin} skin")
    extra = sorted(k for k in attributes if k not in ATTRIBUTE_KEYS)
    features.extend(f"{_clean(k)}: {_clean(attributes[k])}" for k in extra if attributes[k].strip())
    return features


def build_prompt(request: ImageRequest) -> str:
    """Return the prompt for ``request``: user prompt, then subject, features, persona, style.

    Known fields come in a fixed order and unknown attributes sorted by name, whitespace is
    collapsed and each value is capped at 200 characters, so equal requests give equal text.
    """
    attributes, persona = request.attributes, request.persona
    framing = "full-body shot of" if request.keypoints is not None else "portrait of"
    parts = [_clean(request.prompt), f"{framing} {_subject(attributes, persona)}"]
    parts.extend(_features(attributes))
    if personality := _known(persona, "personality"):
        parts.append(f"personality: {personality}")
    if story := _known(persona, "background"):
        parts.append(f"background story: {story}")
    extra = sorted(k for k in persona if k not in PERSONA_KEYS)
    parts.extend(f"{_clean(k)}: {_clean(persona[k])}" for k in extra if persona[k].strip())
    if request.background is not None:
        parts.append(f"plain solid {request.background.lower()} background")
    if style := _known(attributes, "style"):
        parts.append(f"{style} style")
    return ", ".join(part for part in parts if part)
