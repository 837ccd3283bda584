"""Held jobs: a row in a plugin's table that a Dramatiq actor works on, paid by a hold.

What a plugin gets: ``ctx.held_jobs(name, table=..., work=..., action=...)`` returns a
``HeldJobs`` that submits jobs (hold, insert, queue), declares the actor, and runs each
delivery (claim under a heartbeat-renewed lease, items idempotent one by one, retries with
backoff, capture of what was done and release of the rest, progress events); the core's
recovery schedule takes over jobs whose worker died or whose message was lost. The plugin
writes the work of one item (``JobWork``) and gives its table ``*job_columns()``.
"""

from lumiku.heldjobs.columns import (
    FINISHED_JOB_STATUSES,
    JOB_STATUSES,
    OPEN_JOB_STATUSES,
    JobStatus,
    job_columns,
    job_constraints,
)
from lumiku.heldjobs.events import ProgressEvents
from lumiku.heldjobs.items import JobItem, job_items
from lumiku.heldjobs.kind import JobKind, JobServices
from lumiku.heldjobs.kit import HeldJobs, QueueUnavailable, Submitted
from lumiku.heldjobs.limits import JobLimits
from lumiku.heldjobs.markers import (
    FailoverMarkers,
    MemoryMarkers,
    QueuedMarkers,
    RedisMarkers,
    markers_for,
)
from lumiku.heldjobs.recovery import RECOVERY_EVERY, HeldJobKinds, Recovered, recover
from lumiku.heldjobs.runner import ClaimBusy
from lumiku.heldjobs.work import ItemFailed, Job, JobWork, Problem, problem_of

__all__ = [
    "FINISHED_JOB_STATUSES",
    "JOB_STATUSES",
    "OPEN_JOB_STATUSES",
    "RECOVERY_EVERY",
    "ClaimBusy",
    "FailoverMarkers",
    "HeldJobKinds",
    "HeldJobs",
    "ItemFailed",
    "Job",
    "JobItem",
    "JobKind",
    "JobLimits",
    "JobServices",
    "JobStatus",
    "JobWork",
    "MemoryMarkers",
    "Problem",
    "ProgressEvents",
    "QueueUnavailable",
    "QueuedMarkers",
    "Recovered",
    "RedisMarkers",
    "Submitted",
    "job_columns",
    "job_constraints",
    "job_items",
    "markers_for",
    "problem_of",
    "recover",
]
