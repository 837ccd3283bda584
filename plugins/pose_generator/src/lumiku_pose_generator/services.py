"""The plugin's composition root: every service built once per plugin context."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import attrs

from lumiku import HeldJobs, JobLimits, PluginContext, plural
from lumiku_pose_generator.generation import Generations
from lumiku_pose_generator.outputs import Outputs
from lumiku_pose_generator.plugin import PoseGeneratorSettings
from lumiku_pose_generator.projects import Projects
from lumiku_pose_generator.realtime import EVENTS, NAMESPACE, PoseGeneratorNamespace
from lumiku_pose_generator.results import Results
from lumiku_pose_generator.tables import generations
from lumiku_pose_generator.worker import PoseWork

_STATE_KEY = "services"
JOB_NAME = "generate"


@attrs.frozen
class Services:
    """The services of one Pose Generator instance."""

    ctx: PluginContext
    jobs: HeldJobs
    projects: Projects
    generations: Generations
    results: Results
    outputs: Outputs
    namespace: PoseGeneratorNamespace


def job_limits(settings: PoseGeneratorSettings) -> JobLimits:
    """Return the limits of a generation job from the settings."""
    return JobLimits(
        time_limit=timedelta(seconds=settings.time_limit),
        max_retries=settings.max_retries,
        lease=timedelta(seconds=settings.lease_seconds),
        max_requeues=settings.max_requeues,
    )


def describe_generation(row: Mapping[str, Any]) -> str:
    """Return the credit history line of a generation's charge (a person reads it)."""
    if row.get("source_pose_id"):
        return "Pose background change"
    count = int(row.get("items_total") or 0)
    kind = "from a text prompt" if row.get("generation_type") == "TEXT_DESCRIPTION" else ""
    line = f"Pose generation: {plural(count, 'pose')}" if count else "Pose generation"
    return f"{line} {kind}".strip()


def build_services(ctx: PluginContext) -> Services:
    """Build the services on ``ctx``'s core services."""
    jobs = ctx.held_jobs(
        JOB_NAME,
        table=generations,
        work=PoseWork(ctx),
        action="generatePose",
        reference_type="pose_generation",
        limits=job_limits(ctx.settings),
        events=EVENTS,
        describe=describe_generation,
    )
    results = Results(ctx, jobs)
    return Services(
        ctx=ctx,
        jobs=jobs,
        projects=Projects(ctx, jobs),
        generations=Generations(ctx, jobs),
        results=results,
        outputs=Outputs(ctx, jobs, results),
        namespace=PoseGeneratorNamespace(NAMESPACE),
    )


def services_for(ctx: PluginContext) -> Services:
    """Return the services of ``ctx``, building them on first use (hooks share them)."""
    services = ctx.state.get(_STATE_KEY)
    if not isinstance(services, Services):
        services = build_services(ctx)
        ctx.state[_STATE_KEY] = services
    return services
