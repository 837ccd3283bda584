"""The plugin's errors, each one of the facade's HTTP errors with its own code."""

from __future__ import annotations

from lumiku import Conflict, NotFound, ServiceUnavailable, ValidationFailed


class ProjectNotFound(NotFound):
    """No such project of the caller."""

    code = "PROJECT_NOT_FOUND"

    def __init__(self, project_id: str) -> None:
        super().__init__(f"No project {project_id!r} of yours.", details={"projectId": project_id})


class GenerationNotFound(NotFound):
    """No such generation of the caller."""

    code = "GENERATION_NOT_FOUND"

    def __init__(self, generation_id: str) -> None:
        super().__init__(
            f"No generation {generation_id!r} of yours.", details={"generationId": generation_id}
        )


class PoseNotFound(NotFound):
    """No such generated pose of the caller."""

    code = "POSE_NOT_FOUND"

    def __init__(self, pose_id: str) -> None:
        super().__init__(f"No generated pose {pose_id!r} of yours.", details={"poseId": pose_id})


class ProjectBusy(Conflict):
    """The project has a generation pending or processing."""

    code = "GENERATION_IN_PROGRESS"


class AvatarCreatorUnavailable(ServiceUnavailable):
    """The Avatar Creator plugin is not installed or not serving."""

    code = "AVATAR_CREATOR_UNAVAILABLE"


def invalid(fields: dict[str, str]) -> ValidationFailed:
    """Return a 422 naming every failing field (camelCase paths) and its rule.

    The message reads as the core's other 422s do:
    ``"The request body breaks the schema: field: reason; other: reason"``; the same
    ``{"field": "reason"}`` map is in ``details["fields"]``.
    """
    summary = "; ".join(f"{name}: {reason}" for name, reason in fields.items())
    return ValidationFailed(
        f"The request body breaks the schema: {summary}", details={"fields": dict(fields)}
    )
