"""The two apps ``bench/edge.py`` compares Lumiku with, each run as one uvicorn process.

- ``peer_app``: what a user writes by hand with FastAPI in an afternoon: PyJWT verifies the
  bearer token (HS256, same secret as Lumiku's), then a sync SQLAlchemy Core read on an
  engine with default settings, which FastAPI runs in its threadpool; the same JSON as
  Lumiku. It checks no revocation: a stronger baseline than a correct app.
- ``bare_app``: a bare Starlette route returning the same JSON bytes (no auth, no database).

Both are uvicorn factories configured from the environment: ``BENCH_DATABASE_URL``,
``BENCH_JWT_SECRET`` and ``BENCH_BODIES`` (a JSON file: path -> the body Lumiku answered).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import jwt
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Header, HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BALANCE = "/api/credits/balance"
HISTORY = "/api/credits/history"
PROJECTS = "/api/apps/avatar-creator/projects"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def peer_app() -> FastAPI:
    """Return the FastAPI peer: JWT verify + a SQLAlchemy read in the threadpool."""
    engine = sa.create_engine(os.environ["BENCH_DATABASE_URL"])
    secret = os.environ["BENCH_JWT_SECRET"]
    app = FastAPI()

    def current_user(authorization: str = Header(default="")) -> str:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            raise HTTPException(status_code=401, detail="Authentication required")
        try:
            claims = jwt.decode(token, secret, algorithms=["HS256"])
        except jwt.PyJWTError as exc:
            raise HTTPException(status_code=401, detail="Invalid token") from exc
        return str(claims["sub"])

    @app.get(BALANCE)
    def balance(user_id: str = Depends(current_user)) -> dict[str, int]:
        with engine.connect() as connection:
            row = connection.execute(
                sa.text("SELECT balance, held FROM credit_accounts WHERE user_id = :u"),
                {"u": user_id},
            ).first()
        total, held = (int(row[0]), int(row[1])) if row else (0, 0)
        return {"balance": total, "held": held, "available": total - held}

    @app.get(HISTORY)
    def history(limit: int = 20, user_id: str = Depends(current_user)) -> dict[str, Any]:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT id, amount, kind, balance_after, reason, plugin, reference_type,"
                    " reference_id, created_at FROM credit_entries WHERE user_id = :u"
                    " ORDER BY id DESC LIMIT :n"
                ),
                {"u": user_id, "n": limit + 1},
            ).mappings()
            entries = [{_camel(k): _iso(v) for k, v in row.items()} for row in rows]
        more = len(entries) > limit
        return {"entries": entries[:limit], "nextCursor": "more" if more else None}

    @app.get(PROJECTS)
    def projects(limit: int = 20, user_id: str = Depends(current_user)) -> dict[str, Any]:
        with engine.connect() as connection:
            rows = [
                dict(row)
                for row in connection.execute(
                    sa.text(
                        "SELECT * FROM avatar_projects WHERE user_id = :u"
                        " ORDER BY created_at DESC, id DESC LIMIT :n"
                    ),
                    {"u": user_id, "n": limit + 1},
                ).mappings()
            ]
            ids = [row["id"] for row in rows[:limit]]
            avatars: dict[str, list[dict[str, Any]]] = {pid: [] for pid in ids}
            counts: dict[str, int] = dict.fromkeys(ids, 0)
            if ids:
                params = {f"p{i}": pid for i, pid in enumerate(ids)}
                marks = ", ".join(f":p{i}" for i in range(len(ids)))
                for avatar in connection.execute(
                    sa.text(
                        f"SELECT * FROM avatars WHERE project_id IN ({marks})"
                        " ORDER BY created_at DESC, id DESC"
                    ),
                    params,
                ).mappings():
                    if len(avatars[avatar["project_id"]]) < 4:
                        avatars[avatar["project_id"]].append(
                            {_camel(k): _iso(v) for k, v in avatar.items()}
                        )
                    counts[avatar["project_id"]] += 1
        return {
            "projects": [
                {
                    **{_camel(k): _iso(v) for k, v in row.items() if k != "user_id"},
                    "avatars": avatars[row["id"]],
                    "avatarCount": counts[row["id"]],
                }
                for row in rows[:limit]
            ],
            "nextCursor": "more" if len(rows) > limit else None,
        }

    return app


def bare_app() -> Starlette:
    """Return a bare Starlette app answering each path with the body Lumiku answered."""
    with open(os.environ["BENCH_BODIES"], encoding="utf-8") as file:
        bodies: dict[str, str] = json.load(file)

    def route(path: str, body: bytes) -> Route:
        async def answer(_request: Request) -> Response:
            return Response(body, media_type="application/json")

        return Route(path, answer)

    return Starlette(routes=[route(path, body.encode()) for path, body in bodies.items()])


def main() -> None:
    """Serve one app on one uvicorn process: ``edge_peers.py peer_app --port N``."""
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("factory", choices=["peer_app", "bare_app"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = peer_app() if args.factory == "peer_app" else bare_app()
    uvicorn.run(app, host="127.0.0.1", port=args.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
