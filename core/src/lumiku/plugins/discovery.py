"""Find plugins through the ``lumiku.plugins`` entry-point group.

A distribution that ships with Lumiku also lists its plugin in the ``lumiku.bundled`` group
(same name); ``LUMIKU_SAFE_MODE`` keeps only those. The core names no plugin: being bundled
is a claim the distribution makes about itself. Safe mode is a recovery switch for a
deployer who installed a plugin that breaks the app, not a security boundary: any installed
package can make that claim, and installing a package already runs its code.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable

import attrs

ENTRY_POINT_GROUP = "lumiku.plugins"
BUNDLED_GROUP = "lumiku.bundled"


@attrs.frozen
class Candidate:
    """A plugin found but not yet imported: its entry-point name and how to load its spec.

    ``bundled`` is true when its distribution declares the plugin shipped with Lumiku.
    """

    name: str
    distribution: str | None
    load: Callable[[], object] = attrs.field(eq=False, repr=False)
    version: str | None = None
    bundled: bool = False
    # The module its entry point names (``pkg.plugin``): where its files are, unimported.
    module: str | None = None


def discover(group: str = ENTRY_POINT_GROUP) -> list[Candidate]:
    """Return the installed plugins' entry points, sorted by name. Nothing is imported."""
    found = []
    for entry in importlib.metadata.entry_points(group=group):
        dist = entry.dist
        if dist is None:
            found.append(Candidate(entry.name, None, entry.load))
            continue
        bundled = bool(dist.entry_points.select(group=BUNDLED_GROUP, name=entry.name))
        found.append(
            Candidate(entry.name, dist.name, entry.load, dist.version, bundled, entry.module)
        )
    return sorted(found, key=lambda candidate: candidate.name)
