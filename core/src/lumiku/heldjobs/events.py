"""Progress events of held jobs, sent to the owner's sockets through the realtime publisher."""

from __future__ import annotations

import attrs

from lumiku.realtime.publisher import Publisher


@attrs.frozen
class ProgressEvents:
    """Where a kind of job publishes: a namespace, an event prefix and the id's field name.

    With ``ProgressEvents("/pose-generator", "generation", "generationId")`` the owner's
    sockets in ``/pose-generator`` receive ``generation:started`` ``{generationId, total}``,
    ``generation:progress`` ``{generationId, completed, failed, total, percentage}`` after
    every item, then ``generation:completed`` ``{generationId, status, completed, failed,
    total, creditsCharged}`` or ``generation:failed`` ``{generationId, error: {code,
    message}, completed, failed, total}``. Delivery is best effort (clients can poll).
    """

    namespace: str
    prefix: str
    id_field: str = "jobId"

    def started(self, publisher: Publisher, user_id: str, job_id: str, total: int) -> None:
        """Tell the owner that the job's first attempt started."""
        self._send(publisher, user_id, "started", {self.id_field: job_id, "total": total})

    def progress(
        self,
        publisher: Publisher,
        user_id: str,
        job_id: str,
        completed: int,
        failed: int,
        total: int,
    ) -> None:
        """Tell the owner how many items finished."""
        done = completed + failed
        percentage = 100 if total == 0 else round(100 * done / total)
        payload = {
            self.id_field: job_id,
            "completed": completed,
            "failed": failed,
            "total": total,
            "percentage": percentage,
        }
        self._send(publisher, user_id, "progress", payload)

    def finished(
        self,
        publisher: Publisher,
        user_id: str,
        job_id: str,
        *,
        status: str,
        completed: int,
        failed: int,
        total: int,
        credits_charged: int,
        error: dict[str, str] | None,
    ) -> None:
        """Tell the owner how the job ended (``failed`` when nothing was done)."""
        payload: dict[str, object] = {
            self.id_field: job_id,
            "status": status,
            "completed": completed,
            "failed": failed,
            "total": total,
            "creditsCharged": credits_charged,
        }
        if status == "failed":
            payload["error"] = error or {"code": "FAILED", "message": "The job failed."}
            self._send(publisher, user_id, "failed", payload)
        else:
            self._send(publisher, user_id, "completed", payload)

    def _send(
        self, publisher: Publisher, user_id: str, event: str, data: dict[str, object]
    ) -> None:
        publisher.publish(user_id, f"{self.prefix}:{event}", data, namespace=self.namespace)
