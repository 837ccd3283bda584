"""What the command line prints: the operators' marks, log lines and JSON."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

OK, WARN, FAIL = "✅", "⚠️", "❌"


def configure_logging(level: str = "INFO") -> None:
    """Send log lines to stderr in the operators' format."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON."""
    print(json.dumps(data, indent=2, sort_keys=True))
