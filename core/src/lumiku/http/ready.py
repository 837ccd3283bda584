"""How each worker process of ``lumiku serve --workers N`` says its startup is complete.

``lumiku serve`` names a folder in ``LUMIKU_READY_DIR`` for its workers; each one writes a
file named after its process id there when its lifespan startup is done, and the server's
"✅ Server started successfully" line waits for all of them (``lumiku.cli.listening``).
"""

from __future__ import annotations

import os
from pathlib import Path

READY_DIR_VARIABLE = "LUMIKU_READY_DIR"


def mark_ready() -> None:
    """Record that this process's app finished its startup (no-op outside ``--workers``)."""
    folder = os.environ.get(READY_DIR_VARIABLE)
    if folder:
        Path(folder, str(os.getpid())).touch()


def ready_workers(folder: Path) -> int:
    """Return how many worker processes that are still alive marked themselves ready."""
    count = 0
    for entry in folder.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            os.kill(int(entry.name), 0)
        except ProcessLookupError:
            continue  # a worker that stopped (uvicorn starts another, which marks anew)
        except PermissionError:
            pass  # alive, owned by someone else: cannot happen for our children, but alive
        count += 1
    return count
