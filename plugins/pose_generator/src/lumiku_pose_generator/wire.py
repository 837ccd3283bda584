"""The shapes of what the project, upload and generation routes answer, for the OpenAPI
document (``response=``). The handlers build the same keys as dicts (``project_view``,
``Results.view``, ``Results.pose_view``); the API contract tests hold the two together.
Timestamps are ISO 8601 UTC strings (``...Z``).
"""

from __future__ import annotations

import attrs


@attrs.frozen
class PoseProjectView:
    """A project: its avatar (a signed image URL), status and totals."""

    id: str
    project_name: str
    description: str | None
    avatar_source: str
    avatar_id: str | None
    avatar_image_url: str
    status: str
    total_generations: int
    total_poses: int
    created_at: str
    updated_at: str | None


@attrs.frozen
class PoseProjectPage:
    """Projects newest first; pass ``nextCursor`` as ``cursor`` for more."""

    projects: list[PoseProjectView]
    next_cursor: str | None


@attrs.frozen
class UploadedImage:
    """A stored image: its signed URL and size in pixels."""

    image_url: str
    width: int
    height: int


@attrs.frozen
class GenerationQueued:
    """A queued generation: follow it at ``Location`` (``GET /generations/{id}``)."""

    generation_id: str
    status: str
    total_poses_expected: int
    credit_charged: int
    credit_balance: int
    estimated_completion_time: str | None


@attrs.frozen
class FailedPose:
    """A pose of a generation that failed for good, and why."""

    variation_key: str
    error_code: str | None
    error_message: str | None


@attrs.frozen
class GenerationView:
    """A generation: status, progress (percent), credits held, captured and released,
    timing and failures."""

    id: str
    generation_id: str
    project_id: str
    generation_type: str
    status: str
    progress: int
    total_poses_expected: int
    poses_completed: int
    poses_failed: int
    credit_charged: int
    credits_captured: int
    credits_released: int
    text_prompt: str | None
    batch_size: int | None
    variation_count: int | None
    use_background_changer: bool
    background_mode: str | None
    output_formats: list[str]
    error_code: str | None
    error_message: str | None
    recovery_attempts: int
    average_seconds_per_pose: float | None
    estimated_completion_time: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    failed_poses: list[FailedPose]


@attrs.frozen
class GeneratedPoseView:
    """One generated pose: its picture, thumbnail and exports (format -> signed URL)."""

    id: str
    generation_id: str
    pose_library_id: str | None
    variation_key: str | None
    position: int
    image_url: str | None
    thumbnail_url: str | None
    width: int | None
    height: int | None
    background_changed: bool
    background_mode: str | None
    exports: dict[str, str]
    created_at: str | None


@attrs.frozen
class GeneratedPosePage:
    """A generation's poses in order; pass ``nextCursor`` as ``cursor`` for more."""

    poses: list[GeneratedPoseView]
    next_cursor: str | None


@attrs.frozen
class BackgroundQueued:
    """A queued background change of one pose (followed as a generation)."""

    generation_id: str
    pose_id: str
    status: str
    credit_charged: int
    credit_balance: int


@attrs.frozen
class PoseGeneratorInfo:
    """The app: its id, title and credit cost of each action."""

    id: str
    title: str
    credits: dict[str, int]


@attrs.frozen
class TopPose:
    """A library pose and how many of the caller's generations used it."""

    pose_id: str
    uses: int


@attrs.frozen
class PoseStatsView:
    """The caller's projects, generations (by status), poses, background changes, credits
    spent and most used library poses."""

    total_projects: int
    total_generations: int
    generations_by_status: dict[str, int]
    poses_generated: int
    poses_failed: int
    background_changes: int
    credits_spent: int
    top_poses: list[TopPose]
