"""Background jobs on Dramatiq: broker setup, actor declaration, enqueueing and workers.

Nothing here runs at import: the composition root builds the broker, plugins declare their
actors on it in ``register_actors``, and the web process or ``lumiku worker`` runs them.
"""

from lumiku.jobs.broker import boot_process, build_broker, declare_actor, job_stats
from lumiku.jobs.enqueue import JobQueue, UnknownActorError
from lumiku.jobs.events import JobEvents
from lumiku.jobs.policy import JobPolicy
from lumiku.jobs.schedule import Schedule, ScheduledActor, Scheduler, declare_schedules
from lumiku.jobs.stats import JobState, JobStats
from lumiku.jobs.supervisor import EXIT_BOOT_FAILED, run_workers
from lumiku.jobs.worker import InProcessWorker

__all__ = [
    "EXIT_BOOT_FAILED",
    "InProcessWorker",
    "JobEvents",
    "JobPolicy",
    "JobQueue",
    "JobState",
    "JobStats",
    "Schedule",
    "ScheduledActor",
    "Scheduler",
    "UnknownActorError",
    "boot_process",
    "build_broker",
    "declare_actor",
    "declare_schedules",
    "job_stats",
    "run_workers",
]
