"""The plugin's composition root: every service built once per plugin context."""

from __future__ import annotations

from datetime import timedelta

import attrs

from lumiku import PluginContext
from lumiku_avatar_creator.actors import GenerationJob
from lumiku_avatar_creator.avatars import Avatars
from lumiku_avatar_creator.catalog import Catalog
from lumiku_avatar_creator.files import FileCleanup
from lumiku_avatar_creator.generations import Generations
from lumiku_avatar_creator.projects import Projects
from lumiku_avatar_creator.recovery import Expiry, Recovery
from lumiku_avatar_creator.settlement import Settlement
from lumiku_avatar_creator.stats import Stats
from lumiku_avatar_creator.timing import JobTiming
from lumiku_avatar_creator.uploads import Uploads
from lumiku_avatar_creator.views import Renderer

_STATE_KEY = "services"


@attrs.frozen
class Services:
    """The services of one Avatar Creator instance."""

    ctx: PluginContext
    renderer: Renderer
    timing: JobTiming
    projects: Projects
    avatars: Avatars
    uploads: Uploads
    generations: Generations
    job: GenerationJob
    recovery: Recovery
    catalog: Catalog
    stats: Stats


def build_services(ctx: PluginContext) -> Services:
    """Build the services on ``ctx``'s core services."""
    renderer = Renderer(ctx)
    timing = JobTiming.from_settings(ctx.settings)
    settlement = Settlement(ctx)
    files = FileCleanup(ctx)
    expiry = Expiry(ctx, settlement, timing)
    interval = timedelta(seconds=ctx.settings.recovery_interval)
    return Services(
        ctx=ctx,
        renderer=renderer,
        timing=timing,
        projects=Projects(ctx, settlement, files),
        avatars=Avatars(ctx, files),
        uploads=Uploads(ctx, files),
        generations=Generations(ctx, settlement, timing, expiry),
        job=GenerationJob(ctx, settlement, files, timing, expiry),
        recovery=Recovery(ctx, expiry, timing, interval),
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
