"""The plugin's composition root: every service built once per plugin context."""

from __future__ import annotations

import attrs

from lumiku import HeldJobs, PluginContext
from lumiku_avatar_creator.avatars import Avatars
from lumiku_avatar_creator.catalog import Catalog
from lumiku_avatar_creator.files import FileCleanup
from lumiku_avatar_creator.generations import Generations, describe_generation
from lumiku_avatar_creator.jobs import JOB_NAME, AvatarWork, job_limits
from lumiku_avatar_creator.models import avatar_generations
from lumiku_avatar_creator.projects import Projects
from lumiku_avatar_creator.realtime import EVENTS
from lumiku_avatar_creator.stats import Stats
from lumiku_avatar_creator.uploads import Uploads
from lumiku_avatar_creator.views import Renderer

_STATE_KEY = "services"


@attrs.frozen
class Services:
    """The services of one Avatar Creator instance."""

    ctx: PluginContext
    renderer: Renderer
    jobs: HeldJobs
    projects: Projects
    avatars: Avatars
    uploads: Uploads
    generations: Generations
    catalog: Catalog
    stats: Stats


def build_services(ctx: PluginContext) -> Services:
    """Build the services on ``ctx``'s core services."""
    renderer = Renderer(ctx)
    files = FileCleanup(ctx)
    jobs = ctx.held_jobs(
        JOB_NAME,
        table=avatar_generations,
        work=AvatarWork(ctx, files),
        action="generateAvatar",
        reference_type="avatar_generation",
        limits=job_limits(ctx.settings),
        events=EVENTS,
        describe=describe_generation,
    )
    return Services(
        ctx=ctx,
        renderer=renderer,
        jobs=jobs,
        projects=Projects(ctx, jobs, files),
        avatars=Avatars(ctx, files),
        uploads=Uploads(ctx, files),
        generations=Generations(ctx, jobs),
        catalog=Catalog(ctx),
        stats=Stats(ctx, renderer),
    )


def services_for(ctx: PluginContext) -> Services:
    """Return the services of ``ctx``, building them on first use (hooks share them)."""
    services = ctx.state.get(_STATE_KEY)
    if not isinstance(services, Services):
        services = build_services(ctx)
        ctx.state[_STATE_KEY] = services
    return services
