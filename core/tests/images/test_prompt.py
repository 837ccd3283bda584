"""Prompt composition: fixed order, cleaned values, equal requests give equal text."""

from __future__ import annotations

from lumiku.images import ImageRequest, build_prompt

ATTRIBUTES = {
    "style": "realistic",
    "gender": "woman",
    "ageRange": "25-35",
    "ethnicity": "Indonesian",
    "bodyType": "slim",
    "hairStyle": "hijab",
    "hairColor": "black",
    "eyeColor": "brown",
    "skinTone": "medium",
}
PERSONA = {"name": "Sari", "age": "28", "personality": "cheerful,  curious", "background": "chef"}


def make(**changes: object) -> ImageRequest:
    fields: dict[str, object] = {"prompt": "smiling at the camera", "width": 64, "height": 64}
    return ImageRequest(seed=7, **(fields | changes))  # type: ignore[arg-type]


def test_the_prompt_reads_user_prompt_subject_features_persona_style() -> None:
    prompt = build_prompt(make(attributes=ATTRIBUTES, persona=PERSONA))
    assert prompt == (
        "smiling at the camera, portrait of Sari, aged 28 Indonesian woman, slim build, "
        "black hijab hair, brown eyes, medium skin, personality: cheerful, curious, "
        "background story: chef, realistic style"
    )


def test_the_age_range_is_used_when_the_persona_has_no_age() -> None:
    assert "aged 25-35 person" in build_prompt(make(attributes={"ageRange": "25-35"}))


def test_unknown_attributes_come_sorted_after_the_known_ones() -> None:
    first = build_prompt(
        make(attributes={"zeta": "z", "accessories": "glasses", "eyeColor": "blue"})
    )
    second = build_prompt(
        make(attributes={"eyeColor": "blue", "zeta": "z", "accessories": "glasses"})
    )
    assert first == second
    assert first.endswith("blue eyes, accessories: glasses, zeta: z")


def test_keypoints_ask_for_a_full_body_shot_and_background_for_a_plain_colour() -> None:
    request = make(keypoints=[(0.5, 0.5, 1.0)] * 18, background="#FFAA00")
    prompt = build_prompt(request)
    assert "full-body shot of person" in prompt
    assert prompt.endswith("plain solid #ffaa00 background")


def test_whitespace_is_collapsed_and_long_values_are_capped() -> None:
    prompt = build_prompt(make(prompt="  a\n\n  portrait ", persona={"background": "x" * 500}))
    assert prompt.startswith("a portrait, portrait of person")
    assert "x" * 200 in prompt
    assert "x" * 201 not in prompt
