"""``/generate`` (202, queued, held credits) and ``/generations/{id}`` progress and results."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from lumiku import Accepted, Call, PageQuery, RateLimit, get, post
from lumiku_pose_generator.bodies import GenerateBody
from lumiku_pose_generator.results import iso
from lumiku_pose_generator.services import Services
from lumiku_pose_generator.stats import user_stats
from lumiku_pose_generator.wire import (
    GeneratedPosePage,
    GenerationQueued,
    GenerationView,
    PoseStatsView,
)


def generation_routes(services: Services, tags: tuple[str, ...]) -> list[BaseRoute]:
    """Return the generation routes."""
    generations, results, ctx = services.generations, services.results, services.ctx

    def generate(call: Call[GenerateBody, None]) -> Accepted[dict[str, Any]]:
        """Queue a generation: hold its cost and answer 202 with where to follow it."""
        submitted = generations.submit(call)
        job = submitted.job
        status = "failed" if submitted.replayed and job["status"] == "failed" else job["status"]
        eta = ctx.clock() + generations.estimate(int(job["items_total"]))
        body = {
            "generationId": job["id"],
            "status": status,
            "totalPosesExpected": int(job["items_total"]),
            "creditCharged": submitted.credits_held,
            "creditBalance": submitted.credits_available,
            "estimatedCompletionTime": iso(eta),
        }
        return Accepted(body, status_url=f"generations/{job['id']}")

    def get_generation(call: Call[None, None]) -> dict[str, Any]:
        """Return a generation's status, progress, credits and estimated completion."""
        return results.view(results.generation(call.user_id, call.path["generation_id"]))

    def get_results(call: Call[None, PageQuery]) -> dict[str, Any]:
        """Return a page of a generation's poses, in order."""
        page = results.page(call.user_id, call.path["generation_id"], call.query)
        return {
            "poses": [results.pose_view(row) for row in page.rows],
            "nextCursor": page.next_cursor,
        }

    def stats(call: Call[None, None]) -> dict[str, Any]:
        """Return the caller's projects, generations, poses and credits spent."""
        return user_stats(ctx, call.user_id)

    return [
        get("/stats", stats, auth="user", response=PoseStatsView, tags=tags),
        post(
            "/generate",
            generate,
            response=GenerationQueued,
            auth="user",
            body=GenerateBody,
            status=202,
            idempotent=True,
            errors=(402, 404),
            rate_limits=(RateLimit("30/minute", per="user"),),
            tags=tags,
        ),
        get(
            "/generations/{generation_id}",
            get_generation,
            auth="user",
            response=GenerationView,
            tags=tags,
        ),
        get(
            "/generations/{generation_id}/results",
            get_results,
            auth="user",
            query=PageQuery,
            response=GeneratedPosePage,
            tags=tags,
        ),
    ]
