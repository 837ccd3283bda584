"""Submitting generations: check the request, price it on the server, hold, queue.

Gallery mode renders each selected pose ``batchSize`` times (1-200 poses, 1-10 each, at
most 500 in all); text mode renders ``variationCount`` poses (1-20) picked from the library
by the prompt, which must describe a pose and pass the content filter. Every pose costs
``generatePose`` credits, plus ``backgroundChange`` with a background change; the full
cost is held at submit through the core's held jobs (402 when short, 503 with the hold
released when the queue refuses the job) and settled by the worker. A retry with the same
``Idempotency-Key`` finds the generation its first try made.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import attrs
import sqlalchemy as sa

from lumiku import Call, HeldJobs, PluginContext, Submitted, ValidationFailed
from lumiku_pose_generator.avatars import avatar_service, check_uploaded_image
from lumiku_pose_generator.bodies import GenerateBody
from lumiku_pose_generator.content import prompt_problem
from lumiku_pose_generator.errors import AvatarCreatorUnavailable, invalid
from lumiku_pose_generator.exports import parse_formats
from lumiku_pose_generator.poses import all_poses, find_poses, pick_for_prompt
from lumiku_pose_generator.projects import find_project
from lumiku_pose_generator.render import seed_of
from lumiku_pose_generator.tables import Record, projects, selections

MAX_POSES = 500


@attrs.frozen
class BackgroundChoice:
    """A checked background change: its mode and the one value the mode needs."""

    mode: str
    color: str | None = None
    image_key: str | None = None
    prompt: str | None = None

    def columns(self) -> dict[str, Any]:
        """Return the generation columns of this choice."""
        return {
            "use_background_changer": True,
            "background_mode": self.mode,
            "background_color": self.color,
            "background_image_key": self.image_key,
            "background_prompt": self.prompt,
        }


NO_BACKGROUND: dict[str, Any] = {
    "use_background_changer": False,
    "background_mode": None,
    "background_color": None,
    "background_image_key": None,
    "background_prompt": None,
}


def check_background(
    ctx: PluginContext,
    mode: str | None,
    color: str | None,
    image_url: str | None,
    prompt: str | None,
    errors: dict[str, str],
) -> BackgroundChoice | None:
    """Return the background choice, adding what is missing to ``errors``."""
    if mode is None:
        errors["backgroundMode"] = "is required with a background change"
        return None
    if mode == "solid_color":
        if color is None:
            errors["backgroundColor"] = "is required when backgroundMode is solid_color"
            return None
        return BackgroundChoice(mode, color=color.lower())
    if mode == "upload":
        if image_url is None:
            errors["backgroundImageUrl"] = "is required when backgroundMode is upload"
            return None
        try:
            key = ctx.storage.signed_key(image_url, field="backgroundImageUrl")
            check_uploaded_image(ctx, key, "backgroundImageUrl")
        except ValidationFailed as exc:  # a 422 naming the field
            errors.update(getattr(exc, "details", {}).get("fields", {}))
            return None
        return BackgroundChoice(mode, image_key=key)
    if prompt is None:
        errors["backgroundPrompt"] = "is required when backgroundMode is ai_generate"
        return None
    return BackgroundChoice(mode, prompt=prompt)


def check_formats(names: list[str], field: str) -> list[str]:
    """Return the export format names (parsed by the one list), or 422 naming ``field``."""
    if not names:
        return []
    try:
        return [export.name for export in parse_formats(names)]
    except ValueError as exc:
        raise invalid({field: str(exc)}) from None


class Generations:
    """Queue generations with their credit holds."""

    def __init__(self, ctx: PluginContext, jobs: HeldJobs) -> None:
        self._ctx = ctx
        self._jobs = jobs

    def submit(self, call: Call[GenerateBody, Any]) -> Submitted:
        """Check, price, hold and queue the generation ``call.body`` asks for."""
        body, user_id = call.body, call.user_id
        with self._ctx.engine.connect() as connection:
            project = find_project(connection, user_id, body.project_id)
            pose_ids, columns = self._poses(connection, body)
        formats = check_formats(body.output_formats, "outputFormats")
        background = NO_BACKGROUND
        if body.use_background_changer:
            errors: dict[str, str] = {}
            choice = check_background(
                self._ctx,
                body.background_mode,
                body.background_color,
                body.background_image_url,
                body.background_prompt,
                errors,
            )
            if errors or choice is None:
                raise invalid(errors)
            background = choice.columns()
        self._check_avatar(project)
        unit = self._ctx.cost("generatePose")
        if body.use_background_changer:
            unit += self._ctx.cost("backgroundChange")
        settings = self._ctx.settings
        values = {
            **columns,
            **background,
            "project_id": project["id"],
            "generation_type": body.generation_type,
            "pose_ids": pose_ids,
            "avatar_id": project["avatar_id"],
            "avatar_image_key": project["avatar_image_key"],
            "source_pose_id": None,
            "output_formats": formats,
            "width": settings.image_width,
            "height": settings.image_height,
            "seed": seed_of(call.user_id, str(uuid.uuid4())),
        }
        items = len(pose_ids) * int(columns["batch_size"])
        submitted = self._jobs.submit(
            call, values=values, items=items, unit_cost=unit, purpose="generate poses"
        )
        if not submitted.replayed:
            self._after_submit(submitted.job, pose_ids)
        return submitted

    def _poses(self, connection: sa.Connection, body: GenerateBody) -> tuple[list[str], Any]:
        """Return the pose ids to render and the mode's columns; 422 naming what is wrong."""
        errors: dict[str, str] = {}
        if body.generation_type == "GALLERY_REFERENCE":
            ids = body.selected_pose_ids
            if not ids:
                raise invalid({"selectedPoseIds": "is required in GALLERY_REFERENCE mode"})
            found = find_poses(connection, ids)
            seen: set[str] = set()
            for index, pose_id in enumerate(ids):
                if pose_id not in found:
                    errors[f"selectedPoseIds[{index}]"] = "is not a pose of the library"
                elif pose_id in seen:
                    errors[f"selectedPoseIds[{index}]"] = "is selected twice"
                seen.add(pose_id)
            if len(ids) * body.batch_size > MAX_POSES:
                errors["batchSize"] = (
                    f"selectedPoseIds x batchSize is {len(ids) * body.batch_size}; "
                    f"at most {MAX_POSES} poses per generation"
                )
            if errors:
                raise invalid(errors)
            columns = {"batch_size": body.batch_size, "text_prompt": None, "variation_count": None}
            return list(ids), columns
        prompt, count = body.text_prompt, body.variation_count
        if prompt is None:
            errors["textPrompt"] = "is required in TEXT_DESCRIPTION mode"
        elif (problem := prompt_problem(prompt)) is not None:
            errors["textPrompt"] = problem
        if count is None:
            errors["variationCount"] = "is required in TEXT_DESCRIPTION mode"
        if errors or prompt is None or count is None:
            raise invalid(errors)
        library = all_poses(connection)
        if not library:
            raise invalid({"textPrompt": "cannot be matched: the pose library is empty"})
        picked = [pick_for_prompt(library, prompt, n).id for n in range(count)]
        return picked, {"batch_size": 1, "text_prompt": prompt, "variation_count": count}

    def _check_avatar(self, project: Record) -> None:
        if project["avatar_source"] != "AVATAR_CREATOR":
            return
        service = avatar_service(self._ctx)
        if service is None:
            raise AvatarCreatorUnavailable(
                "This project's avatar comes from Avatar Creator, which is not available on "
                "this server; switch the project to an uploaded image (avatarSource UPLOAD)."
            )
        if service.find_avatar(self._ctx.engine, project["avatar_id"], project["user_id"]) is None:
            raise invalid(
                {"projectId": "names a project whose avatar was deleted; choose another avatar"}
            )

    def _after_submit(self, job: Record, pose_ids: list[str]) -> None:
        now = self._ctx.clock()
        with self._ctx.engine.begin() as connection:
            connection.execute(
                sa.insert(selections),
                [
                    {
                        "id": str(uuid.uuid4()),
                        "generation_id": job["id"],
                        "pose_id": pose_id,
                        "position": position,
                        "created_at": now,
                    }
                    for position, pose_id in enumerate(pose_ids)
                ],
            )
            connection.execute(
                sa.update(projects)
                .where(projects.c.id == job["project_id"])
                .values(total_generations=projects.c.total_generations + 1, updated_at=now)
            )

    def estimate(self, total: int) -> timedelta:
        """Return how long ``total`` poses take, from the setting (refined by measured times)."""
        return timedelta(seconds=total * self._ctx.settings.seconds_per_pose)
