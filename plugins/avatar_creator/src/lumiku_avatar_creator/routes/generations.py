"""Generations: from a prompt or a preset (queued, credits held), status, list."""

from __future__ import annotations

from starlette.routing import BaseRoute

from lumiku import Accepted, Call, RateLimit, Submitted, get, post
from lumiku_avatar_creator.bodies import (
    DEFAULT_GENERATED_SIDE,
    AvatarFromPresetBody,
    AvatarGenerateBody,
    GenerationQuery,
)
from lumiku_avatar_creator.generations import GenerationSpec
from lumiku_avatar_creator.prompts import new_seed
from lumiku_avatar_creator.services import Services
from lumiku_avatar_creator.traits import TRAIT_COLUMNS, trait_values
from lumiku_avatar_creator.views import (
    AvatarGenerationPage,
    AvatarGenerationResult,
    AvatarGenerationView,
)


def generation_routes(services: Services, tags: tuple[str, ...]) -> list[BaseRoute]:
    """Return the generation routes."""
    generations, catalog, renderer = services.generations, services.catalog, services.renderer

    def result(submitted: Submitted) -> Accepted[AvatarGenerationResult]:
        """Return the wire form of a queued generation: 202 with its status URL."""
        view = AvatarGenerationResult(
            renderer.generation(submitted.job),
            submitted.credits_held,
            submitted.credits_available,
        )
        return Accepted(view, status_url=f"generations/{submitted.job['id']}")

    def generate(call: Call[AvatarGenerateBody, None]) -> Accepted[AvatarGenerationResult]:
        """Queue an avatar generated from a prompt, persona and attributes (credits held)."""
        body = call.body
        spec = GenerationSpec(
            kind="prompt",
            name=body.name.strip(),
            prompt=body.prompt.strip(),
            traits=trait_values(body),
            width=body.width,
            height=body.height,
            seed=new_seed() if body.seed is None else body.seed,
            action="generateAvatar",
        )
        return result(generations.submit(call, call.path["project_id"], spec))

    def from_preset(call: Call[AvatarFromPresetBody, None]) -> Accepted[AvatarGenerationResult]:
        """Queue an avatar generated from a preset (credits held)."""
        preset = catalog.recipe(call.body.preset_id)
        spec = GenerationSpec(
            kind="preset",
            name=call.body.custom_name or preset["name"],
            prompt=preset["prompt"],
            traits={name: preset[name] for name in TRAIT_COLUMNS},
            width=DEFAULT_GENERATED_SIDE,
            height=DEFAULT_GENERATED_SIDE,
            seed=new_seed(),
            action="fromPreset",
            preset_id=preset["id"],
        )
        return result(generations.submit(call, call.path["project_id"], spec))

    def get_generation(call: Call[None, None]) -> AvatarGenerationView:
        """Return a generation's status, and its avatar once completed."""
        row, avatar = generations.get(call.user_id, call.path["generation_id"])
        return renderer.generation(row, avatar)

    def list_generations(call: Call[None, GenerationQuery]) -> AvatarGenerationPage:
        """List the caller's generations, newest first (optionally by project or status)."""
        query = call.query
        page = generations.page(
            call.user_id, query, project_id=query.project_id, status=query.status
        )
        return AvatarGenerationPage(page.map(renderer.generation).rows, page.next_cursor)

    return [
        post(
            "/projects/{project_id}/avatars/generate",
            generate,
            auth="user",
            body=AvatarGenerateBody,
            response=AvatarGenerationResult,
            status=202,
            errors=(402,),
            rate_limits=(RateLimit("5/minute"),),
            idempotent=True,
            tags=tags,
        ),
        post(
            "/projects/{project_id}/avatars/from-preset",
            from_preset,
            operation_id="createAvatarFromPreset",
            auth="user",
            body=AvatarFromPresetBody,
            response=AvatarGenerationResult,
            status=202,
            errors=(402,),
            rate_limits=(RateLimit("8/minute"),),
            idempotent=True,
            tags=tags,
        ),
        get(
            "/generations",
            list_generations,
            auth="user",
            query=GenerationQuery,
            response=AvatarGenerationPage,
            tags=tags,
        ),
        get(
            "/generations/{generation_id}",
            get_generation,
            auth="user",
            response=AvatarGenerationView,
            tags=tags,
        ),
    ]
