"""The web console: static files served at ``/console``, a client of the public API only.

The page (``static/index.html``) and its ES modules (``static/js``) call the same HTTP
routes and Socket.IO namespaces as any client; this package adds no API of its own. The
Socket.IO client in ``static/vendor`` is the npm package pinned in ``console/package.json``,
copied by ``make console-assets`` and committed (no CDN, no Node at install or run time).
"""

from __future__ import annotations

from lumiku.console.routes import console_routes

__all__ = ["console_routes"]
