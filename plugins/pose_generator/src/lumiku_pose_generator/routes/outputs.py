"""Results made into more: a pose's background change, exports, the generation's ZIP."""

from __future__ import annotations

from typing import Any

import attrs
from starlette.responses import StreamingResponse
from starlette.routing import BaseRoute

from lumiku import Accepted, Call, RateLimit, field, get, post
from lumiku_pose_generator.bodies import BackgroundBody, ExportBody
from lumiku_pose_generator.outputs import Outputs
from lumiku_pose_generator.services import Services
from lumiku_pose_generator.wire import BackgroundQueued, GeneratedPoseView


@attrs.frozen
class ZipQuery:
    """``formats``: comma-separated export format names (default: the generation's)."""

    formats: str | None = field(default=None, max_length=400)


def output_routes(services: Services, outputs: Outputs, tags: tuple[str, ...]) -> list[BaseRoute]:
    """Return the background, export and ZIP routes."""
    results = services.results

    def change_background(call: Call[BackgroundBody, None]) -> Accepted[dict[str, Any]]:
        """Queue a background change of one generated pose (10 credits, released on failure)."""
        submitted = outputs.change_background(call, call.path["pose_id"])
        job = submitted.job
        body = {
            "generationId": job["id"],
            "poseId": call.path["pose_id"],
            "status": job["status"],
            "creditCharged": submitted.credits_held,
            "creditBalance": submitted.credits_available,
        }
        return Accepted(body, status_url=f"generations/{job['id']}")

    def regenerate_export(call: Call[ExportBody, None]) -> dict[str, Any]:
        """Make a pose's exports in ``formats`` again and return the pose with their URLs."""
        row = outputs.regenerate(call.user_id, call.path["pose_id"], call.body.formats)
        return results.pose_view(row)

    def export_zip(call: Call[None, ZipQuery]) -> StreamingResponse:
        """Stream a ZIP of the generation's poses: ``<format>/<poseId>.<ext>`` per export."""
        generation_id = call.path["generation_id"]
        formats = outputs.zip_formats(call.user_id, generation_id, call.query.formats)
        return StreamingResponse(
            outputs.zip_stream(call.user_id, generation_id, formats),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="poses-{generation_id}.zip"'},
        )

    return [
        post(
            "/poses/{pose_id}/background",
            change_background,
            response=BackgroundQueued,
            auth="user",
            body=BackgroundBody,
            status=202,
            idempotent=True,
            errors=(402,),
            rate_limits=(RateLimit("60/minute", per="user"),),
            tags=tags,
        ),
        post(
            "/poses/{pose_id}/regenerate-export",
            regenerate_export,
            response=GeneratedPoseView,
            auth="user",
            body=ExportBody,
            rate_limits=(RateLimit("60/minute", per="user"),),
            tags=tags,
        ),
        get(
            "/generations/{generation_id}/export-zip",
            export_zip,
            auth="user",
            query=ZipQuery,
            produces="application/zip",
            tags=tags,
        ),
    ]
