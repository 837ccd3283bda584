"""The plugin's errors, each a subclass of the core error that gives its HTTP status."""

from __future__ import annotations

from lumiku import NotFound, ServiceUnavailable


class ProjectNotFound(NotFound):
    """No project with this id belongs to the caller."""

    code = "PROJECT_NOT_FOUND"

    def __init__(self, project_id: str) -> None:
        super().__init__(
            f"Project {project_id!r} does not exist or is not yours; list your projects with "
            "GET /projects.",
            details={"projectId": project_id},
        )


class AvatarNotFound(NotFound):
    """No avatar with this id belongs to the caller."""

    code = "AVATAR_NOT_FOUND"

    def __init__(self, avatar_id: str) -> None:
        super().__init__(
            f"Avatar {avatar_id!r} does not exist or is not yours; list your avatars with "
            "GET /avatars.",
            details={"avatarId": avatar_id},
        )


class GenerationNotFound(NotFound):
    """No generation with this id belongs to the caller."""

    code = "GENERATION_NOT_FOUND"

    def __init__(self, generation_id: str) -> None:
        super().__init__(
            f"Generation {generation_id!r} does not exist or is not yours; use the id the "
            "generate request returned.",
            details={"generationId": generation_id},
        )


class PresetNotFound(NotFound):
    """No preset has this id."""

    code = "PRESET_NOT_FOUND"

    def __init__(self, preset_id: str) -> None:
        super().__init__(
            f"Preset {preset_id!r} does not exist; list the presets with GET /presets.",
            details={"presetId": preset_id},
        )


class ProviderNotConfigured(ServiceUnavailable):
    """The image provider the plugin is set to use is not registered."""

    code = "PROVIDER_NOT_CONFIGURED"

    def __init__(self, name: str, available: list[str]) -> None:
        super().__init__(
            f"Image provider {name!r} is not available (registered: "
            f"{', '.join(available) or 'none'}); set AVATAR_CREATOR_PROVIDER to one of them, "
            "or HUGGINGFACE_API_KEY for 'huggingface'. No credits were taken.",
            details={"provider": name, "available": available},
        )


class QueueUnavailable(ServiceUnavailable):
    """The generation could not be queued; its credits were given back."""

    code = "QUEUE_UNAVAILABLE"

    def __init__(self, generation_id: str) -> None:
        super().__init__(
            f"Generation {generation_id!r} could not be queued, so it was marked failed and "
            "its credits were released; try again in a moment with a new Idempotency-Key.",
            details={"generationId": generation_id},
        )
