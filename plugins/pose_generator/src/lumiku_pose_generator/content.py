"""The content filter of text prompts: it must describe a pose and name nothing banned.

Banned: sexual content, violence, drugs and trademarked characters (the rules of the
original product). Words are matched whole and case-insensitively, also when written with
separators or digits for letters (``n.u.d.e``, ``nud3``), so the easy evasions fail too.
"""

from __future__ import annotations

import re
from typing import Final

BANNED: Final = {
    "sexual content": (
        "nude", "naked", "nsfw", "porn", "porno", "sex", "sexy", "erotic", "topless",
        "lingerie", "undressed", "explicit", "fetish", "seductive", "strip", "stripper",
    ),
    "violence": (
        "kill", "killing", "murder", "blood", "bloody", "gore", "gun", "guns", "rifle",
        "knife", "stab", "shoot", "shooting", "weapon", "corpse", "torture", "suicide",
    ),
    "drugs": ("drug", "drugs", "cocaine", "heroin", "meth", "marijuana", "weed", "joint"),
    "trademarked characters": (
        "mickey", "minnie", "elsa", "pikachu", "pokemon", "spiderman", "batman", "superman",
        "ironman", "hulk", "naruto", "goku", "mario", "hello kitty", "barbie", "disney",
        "marvel",
    ),
}  # fmt: skip
POSE_WORDS: Final = frozenset(
    (
        "pose", "posing", "posed", "stand", "standing", "stands", "sit", "sitting", "sits",
        "seated", "kneel", "kneeling", "lean", "leaning", "leans", "lie", "lying", "walk",
        "walking", "walks", "run", "running", "jump", "jumping", "squat", "squatting",
        "crouch", "crouching", "stretch", "stretching", "bend", "bending", "arm", "arms",
        "hand", "hands", "leg", "legs", "hip", "hips", "shoulder", "shoulders", "head",
        "looking", "look", "facing", "turn", "turned", "turning", "hold", "holding", "raise",
        "raised", "raising", "cross", "crossed", "crossing", "wave", "waving", "point",
        "pointing", "step", "stepping", "dance", "dancing", "yoga", "stance", "profile",
        "portrait", "smile", "smiling", "gesture", "gesturing", "present", "presenting",
        "fold", "folded", "rest", "resting", "clasp", "clasped", "pocket", "pockets", "tilt",
        "tilted", "side", "front", "back", "kneels", "sitting-down", "upright", "relaxed",
        "confident", "crossed-arms", "hands-on-hips", "thumbs", "thumb", "peace", "selfie",
        "model", "modeling", "modelling", "catwalk", "runway", "lunge", "plank", "balance",
        "reach", "reaching", "hug", "hugging", "carry", "carrying", "lift", "lifting",
    )
)  # fmt: skip
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a"})


def _normalized(text: str) -> str:
    lowered = text.lower().translate(_LEET)
    # Letters split by single separators ("n.u.d.e", "n u d e") are joined back.
    return re.sub(
        r"\b(?:[a-z][\s._*-]){2,}[a-z]\b", lambda m: re.sub(r"[\s._*-]", "", m[0]), lowered
    )


def prompt_problem(prompt: str) -> str | None:
    """Return why ``prompt`` is refused (a rule in words), or None when it passes."""
    text = _normalized(prompt)
    words = set(re.findall(r"[a-z]+", text))
    for category, terms in BANNED.items():
        for term in terms:
            if (" " in term and term in text) or term in words:
                return f"must not mention {category} (found {term!r})"
    if not words & POSE_WORDS:
        return (
            "must describe a pose (how the person stands, sits or moves, e.g. 'standing "
            "with arms crossed')"
        )
    return None
