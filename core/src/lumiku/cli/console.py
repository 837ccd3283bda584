"""What the command line prints: the operators' marks and JSON."""

from __future__ import annotations

import json
from typing import Any

OK, WARN, FAIL = "✅", "⚠️", "❌"


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON."""
    print(json.dumps(data, indent=2, sort_keys=True))
