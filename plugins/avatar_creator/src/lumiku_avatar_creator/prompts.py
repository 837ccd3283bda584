"""What a generation asks the image provider for.

The provider composes the final prompt (core's ``build_prompt``): the user's prompt (or the
preset's), then the subject from persona and visual attributes, then the style. The
plugin adds the portrait framing and a negative prompt that keeps results usable as
avatars.
"""

from __future__ import annotations

import random

from lumiku import ImageRequest
from lumiku_avatar_creator.models import Record
from lumiku_avatar_creator.traits import provider_maps

NEGATIVE_PROMPT = (
    "blurry, low quality, distorted face, extra limbs, watermark, text, cropped head, "
    "multiple people"
)
MAX_SEED = 2**32 - 1


def new_seed() -> int:
    """Return a random seed for a generation that did not ask for one."""
    return random.randint(0, MAX_SEED)


def image_request(row: Record) -> ImageRequest:
    """Return the provider request of a generation (or preset) row."""
    attributes, persona = provider_maps(row)
    return ImageRequest(
        prompt=row["prompt"],
        width=int(row["width"]),
        height=int(row["height"]),
        seed=int(row["seed"]),
        negative_prompt=NEGATIVE_PROMPT,
        attributes=attributes,
        persona=persona,
    )
