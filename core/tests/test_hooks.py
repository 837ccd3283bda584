"""One test (at least) per hookspec, named ``test_hook_<hook name>...``, and the meta-test
that fails when a hookspec has no such test or no ``### <hook name>`` entry in
``docs/plugins.md``."""

from __future__ import annotations

import ast
import asyncio
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import socketio
from starlette.testclient import TestClient

from lumiku import (
    AuthenticatedNamespace,
    Call,
    GeneratedImage,
    ImageProvider,
    ImageRequest,
    PluginContext,
    declare_actor,
    get,
    post,
)
from lumiku.hookspecs import HOOK_NAMES
from lumiku.jobs.schedule import Schedule, Scheduler
from lumiku.plugins.discovery import discover
from lumiku.testing import OPERATOR_HEADERS, define_plugin, drain

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


# -- register_routes ---------------------------------------------------------------------


def test_hook_register_routes_mounts_under_the_prefix(
    make_client: Callable[..., TestClient],
) -> None:
    def register_routes(ctx: PluginContext) -> list[Any]:
        def whoami(_call: Call[None, None]) -> dict[str, str]:
            return {"plugin": ctx.id, "prefix": ctx.spec.prefix}

        return [get("/whoami", whoami)]

    client = make_client(
        [
            define_plugin("lkt_routes", register_routes=register_routes),
            define_plugin(
                "lkt_routed", route_prefix="/api/custom", register_routes=register_routes
            ),
        ]
    )
    assert client.get("/api/apps/lkt-routes/whoami").json() == {
        "plugin": "lkt_routes",
        "prefix": "/api/apps/lkt-routes",
    }
    assert client.get("/api/custom/whoami").json()["plugin"] == "lkt_routed"
    assert client.get("/whoami").status_code == 404


# -- register_migrations -----------------------------------------------------------------


def test_hook_register_migrations_adds_a_branch(
    install_plugin: Callable[..., Any], make_client: Callable[..., TestClient], database_url: str
) -> None:
    import sqlalchemy as sa

    from lumiku.db import create_engine

    plugin = install_plugin()
    client = make_client([c for c in discover() if c.name == plugin.id])
    assert client.get(f"{plugin.prefix}/hello").json()["greeting"] == "hello"
    engine = create_engine(database_url)
    try:
        assert set(plugin.tables) <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


# -- register_actors ---------------------------------------------------------------------


def test_hook_register_actors_runs_jobs_in_process_and_idempotently(
    make_app: Callable[..., Any],
) -> None:
    done: dict[str, int] = {}
    lock = threading.Lock()

    def register_actors(ctx: PluginContext, broker: Any) -> list[Any]:
        def double(job_id: str, value: int) -> None:
            with lock:  # idempotent: a redelivered message changes nothing
                done.setdefault(job_id, value * 2)

        return [declare_actor(broker, double, name=f"{ctx.id}.double", queue=ctx.id)]

    def register_routes(ctx: PluginContext) -> list[Any]:
        def submit(call: Call[None, None]) -> dict[str, str]:
            job_id = call.path["job_id"]
            ctx.jobs.enqueue(f"{ctx.id}.double", job_id=job_id, value=21)
            ctx.jobs.enqueue(f"{ctx.id}.double", job_id=job_id, value=99)
            return {"queued": job_id}

        return [post("/jobs/{job_id}", submit)]

    app = make_app(
        [
            define_plugin(
                "lkt_jobs", register_actors=register_actors, register_routes=register_routes
            )
        ]
    )
    with TestClient(app) as client:
        assert client.post("/api/apps/lkt-jobs/jobs/j1").json() == {"queued": "j1"}
        drain(app)
    assert done == {"j1": 42}
    runtime = app.state.runtime
    assert runtime.actors["lkt_jobs"] == ["lkt_jobs.double"]
    assert "lkt_jobs" in runtime.broker.get_declared_queues()


def test_hook_register_actors_with_a_wrong_name_fails_only_its_plugin(
    make_client: Callable[..., TestClient],
) -> None:
    def register_actors(ctx: PluginContext, broker: Any) -> list[Any]:
        return [declare_actor(broker, lambda: None, name="other.job", queue=ctx.id)]

    client = make_client(
        [
            define_plugin("lkt_bad_actor", register_actors=register_actors),
            define_plugin("lkt_fine", register_routes=lambda: []),
        ]
    )
    plugins = {
        p["id"]: p for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    }
    assert plugins["lkt_fine"]["state"] == "running"
    bad = plugins["lkt_bad_actor"]
    assert (bad["state"], bad["reasonCode"]) == ("failed", "hook_error")
    assert "plugin 'lkt_bad_actor', hook 'register_actors'" in bad["reason"]
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    # The HTTP view names the exception; the record (the CLI, the log) has its message.
    assert "raised ValueError" in bad["reason"]
    assert "'<plugin id>.<job>'" in runtime.registry.records["lkt_bad_actor"].reason
    assert "lkt_bad_actor" not in runtime.actors


# -- register_schedules ----------------------------------------------------------------


def test_hook_register_schedules_declares_actors_the_scheduler_enqueues(
    make_app: Callable[..., Any],
) -> None:
    runs: list[str] = []

    def register_schedules(ctx: PluginContext) -> list[Schedule]:
        return [Schedule("tidy", timedelta(seconds=30), lambda: runs.append(ctx.id))]

    app = make_app([define_plugin("lkt_tidy", register_schedules=register_schedules)])
    runtime = app.state.runtime
    assert "lkt_tidy.tidy" in runtime.actors["lkt_tidy"]
    entries = {item.actor_name: item.every for item in runtime.schedules}
    assert entries["lkt_tidy.tidy"] == timedelta(seconds=30)
    assert entries["core.sweep_holds"] == timedelta(minutes=1)  # the core uses the same kind

    now = [0.0]
    scheduler = Scheduler(runtime.jobs, runtime.schedules, clock=lambda: now[0])
    with TestClient(app):
        assert scheduler.enqueue_due() == []  # nothing is due before its first period
        now[0] = 31.0
        assert "lkt_tidy.tidy" in scheduler.enqueue_due()
        assert "lkt_tidy.tidy" not in scheduler.enqueue_due()  # once per period
        drain(app)
    assert runs == ["lkt_tidy"]


def test_hook_register_schedules_with_a_bad_name_fails_only_its_plugin(
    make_client: Callable[..., TestClient],
) -> None:
    def register_schedules() -> list[Any]:
        return [Schedule("Bad Name", timedelta(minutes=1), lambda: None)]

    client = make_client([define_plugin("lkt_badsched", register_schedules=register_schedules)])
    plugins = {
        p["id"]: p for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    }
    bad = plugins["lkt_badsched"]
    assert (bad["state"], bad["reasonCode"]) == ("failed", "hook_error")
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    assert "snake_case" in runtime.registry.records["lkt_badsched"].reason


# -- register_health_checks --------------------------------------------------------------


def test_hook_register_health_checks_shows_everywhere(
    make_client: Callable[..., TestClient],
) -> None:
    from lumiku import CheckResult

    def register_health_checks(ctx: PluginContext) -> dict[str, Any]:
        return {
            "model": lambda: CheckResult("ok", "loaded"),
            "cache": lambda: CheckResult("degraded", "cold"),
        }

    client = make_client(
        [define_plugin("lkt_checked", register_health_checks=register_health_checks)]
    )
    body = client.get("/api/apps/lkt-checked/health", headers=OPERATOR_HEADERS).json()
    assert body["status"] == "degraded"
    assert body["checks"]["model"]["detail"] == "loaded"
    detailed = client.get("/health/detailed", headers=OPERATOR_HEADERS).json()["plugins"][
        "lkt_checked"
    ]
    assert set(detailed["checks"]) == {"model", "cache"}


# -- register_realtime -------------------------------------------------------------------


class LiveNamespace(AuthenticatedNamespace):
    """A plugin namespace."""


def test_hook_register_realtime_adds_namespaces(make_client: Callable[..., TestClient]) -> None:
    client = make_client(
        [define_plugin("lkt_live", register_realtime=lambda ctx: [LiveNamespace("/lkt-live")])]
    )
    sio = client.app.state.realtime.sio  # type: ignore[attr-defined]
    assert "/lkt-live" in sio.namespace_handlers
    assert (
        client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"][0]["state"]
        == "running"
    )


def test_hook_register_realtime_with_bad_namespaces_fails_only_its_plugin(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(
        [
            define_plugin(
                "lkt_open", register_realtime=lambda: [socketio.AsyncNamespace("/lkt-open")]
            ),
            define_plugin("lkt_first", register_realtime=lambda: [LiveNamespace("/lkt-shared")]),
            define_plugin("lkt_second", register_realtime=lambda: [LiveNamespace("/lkt-shared")]),
            define_plugin("lkt_live", register_realtime=lambda: [LiveNamespace("/lkt-live")]),
        ]
    )
    assert client.get("/health").status_code == 200
    plugins = {
        p["id"]: p for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    }
    assert plugins["lkt_live"]["state"] == "running"
    assert plugins["lkt_first"]["state"] == "running"
    assert (plugins["lkt_open"]["state"], plugins["lkt_open"]["reasonCode"]) == (
        "failed",
        "hook_error",
    )
    assert "AuthenticatedNamespace" in plugins["lkt_open"]["reason"]
    assert plugins["lkt_second"]["state"] == "failed"
    assert "/lkt-shared" in plugins["lkt_second"]["reason"]
    assert "lkt_first" in plugins["lkt_second"]["reason"]
    sio = client.app.state.realtime.sio  # type: ignore[attr-defined]
    assert {"/lkt-live", "/lkt-shared"} <= set(sio.namespace_handlers)
    assert "/lkt-open" not in sio.namespace_handlers


# -- register_commands -------------------------------------------------------------------

COMMAND_HOOKS = """
from lumiku import hookimpl


@hookimpl
def register_commands(cli):
    parser = cli.add_parser("@ID@-greet", help="greet someone")
    parser.add_argument("name")
    parser.set_defaults(func=lambda args: print(f"hello {args.name} from @ID@") or 0)
"""

RAISING_COMMAND_HOOKS = """
from lumiku import hookimpl


@hookimpl
def register_commands(cli):
    raise RuntimeError("cannot build my commands")
"""


def test_hook_register_commands_adds_cli_subcommands(
    install_plugin: Callable[..., Any], run_cli: Callable[..., Any], lumiku_env: dict[str, str]
) -> None:
    plugin = install_plugin(hooks=COMMAND_HOOKS, migrations=False)
    install_plugin(hooks=RAISING_COMMAND_HOOKS, migrations=False)
    result = run_cli(lumiku_env, f"{plugin.id}-greet", "ana")
    assert (result.code, result.out.strip()) == (0, f"hello ana from {plugin.id}")
    assert run_cli(lumiku_env, "plugins").code == 0
    disabled = run_cli({**lumiku_env, "LUMIKU_DISABLE_PLUGINS": plugin.id}, f"{plugin.id}-greet")
    assert disabled.code == 2
    assert "invalid choice" in disabled.err


# -- register_image_providers ------------------------------------------------------------


class SolidProvider(ImageProvider):
    """A provider that returns the same bytes."""

    name = "lkt_solid"

    def generate(self, request: ImageRequest) -> GeneratedImage:
        return GeneratedImage(b"png", request.width, request.height, self.name, request.seed)


def test_hook_register_image_providers_offers_them_to_every_plugin(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    def register_routes(ctx: PluginContext) -> list[Any]:
        def providers(_call: Call[None, None]) -> dict[str, Any]:
            image = ctx.image_provider("lkt_solid").generate(
                ImageRequest(prompt="a lamp", width=64, height=64, seed=7)
            )
            return {"names": sorted(ctx.image_providers), "provider": image.provider}

        return [get("/providers", providers)]

    client = make_client(
        [
            define_plugin(
                "lkt_maker", register_image_providers=lambda: {"lkt_solid": SolidProvider()}
            ),
            define_plugin(
                "lkt_greedy", register_image_providers=lambda: {"local": SolidProvider()}
            ),
            define_plugin("lkt_user", register_routes=register_routes),
        ]
    )
    body = client.get("/api/apps/lkt-user/providers").json()
    assert body == {"names": ["lkt_solid", "local"], "provider": "lkt_solid"}
    assert "image provider 'local' already exists" in caplog.text


# -- register_reconciliation_checks ------------------------------------------------------


def _count_users(connection: Any) -> list[Any]:
    from lumiku import Discrepancy

    users = connection.exec_driver_sql("SELECT id FROM users ORDER BY id").scalars().all()
    return [Discrepancy(user_id, "lkt_user_seen", 0, 1, f"user {user_id}") for user_id in users]


def _broken_check(connection: Any) -> list[Any]:
    raise RuntimeError("my table is gone")


def test_hook_register_reconciliation_checks_runs_with_the_periodic_reconciliation(
    make_app: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(
        [
            define_plugin(
                "lkt_recon",
                register_reconciliation_checks=lambda: {
                    "users": _count_users,
                    "broken": _broken_check,
                },
            ),
            define_plugin("lkt_recon_bad", register_reconciliation_checks=lambda: {"Bad": 1}),
        ]
    )
    runtime = app.state.runtime
    with TestClient(app) as client:
        client.post(
            "/api/auth/register", json={"email": "r@example.com", "password": "pass-word-42x"}
        )
        runtime.jobs.enqueue("core.reconcile")
        drain(app)
    with runtime.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT source, kind, user_id, detail FROM reconciliation_findings ORDER BY source"
        ).all()
    assert [(row.source, row.kind) for row in rows] == [
        ("lkt_recon.broken", "check_failed"),
        ("lkt_recon.users", "lkt_user_seen"),
    ]
    assert "RuntimeError: my table is gone" in rows[0].detail
    assert "reconciliation check lkt_recon.broken failed" in caplog.text
    assert "check name 'Bad' is not snake_case" in caplog.text  # logged; the plugin serves on
    assert runtime.registry.get("lkt_recon_bad").state.serving


RECONCILIATION_HOOKS = """
from lumiku import Discrepancy, hookimpl


@hookimpl
def register_reconciliation_checks():
    def everyone_is_suspect(connection):
        ids = connection.exec_driver_sql("SELECT id FROM users").scalars().all()
        return [Discrepancy(user_id, "suspect", 0, 1, "a test finding") for user_id in ids]

    return {"suspects": everyone_is_suspect}
"""


def test_hook_register_reconciliation_checks_runs_with_lumiku_credits_reconcile(
    install_plugin: Callable[..., Any], run_cli: Callable[..., Any], lumiku_env: dict[str, str]
) -> None:
    plugin = install_plugin(hooks=RECONCILIATION_HOOKS, migrations=False)
    assert run_cli(lumiku_env, "migrate").code == 0
    clean = run_cli(lumiku_env, "credits", "reconcile")
    assert (clean.code, f"and {plugin.id}.suspects" in clean.out) == (0, True), clean.out

    with_user = {**lumiku_env, "LUMIKU_NEW_PASSWORD": "amber-violin-7-quartz"}
    assert run_cli(with_user, "users", "create", "s@example.com").code == 0
    found = run_cli(lumiku_env, "credits", "reconcile")
    assert found.code == 1
    assert f"{plugin.id}.suspects/suspect user " in found.out
    disabled = run_cli({**lumiku_env, "LUMIKU_DISABLE_PLUGINS": plugin.id}, "credits", "reconcile")
    assert disabled.code == 0  # a plugin turned off contributes no check


# -- startup and shutdown ----------------------------------------------------------------


def test_hook_startup_and_shutdown_run_in_order_sync_or_async(make_app: Callable[..., Any]) -> None:
    events: list[str] = []

    def startup(ctx: PluginContext) -> None:
        ctx.state["client"] = "connected"
        events.append(f"start {ctx.id}")

    async def async_startup_of(ctx: PluginContext) -> None:
        await asyncio.sleep(0)
        events.append(f"start {ctx.id}")

    def shutdown(ctx: PluginContext) -> Any:
        async def close() -> None:
            events.append(f"stop {ctx.id} {ctx.state.get('client')}")

        return close()

    app = make_app(
        [
            define_plugin("lkt_b", startup=startup, shutdown=shutdown),
            define_plugin(
                "lkt_a", startup=async_startup_of, shutdown=lambda ctx: events.append("stop a")
            ),
            define_plugin("lkt_c", shutdown=shutdown),
        ]
    )
    assert events == []
    with TestClient(app):
        assert events == ["start lkt_a", "start lkt_b"]
    assert events[2:] == ["stop a", "stop lkt_b connected", "stop lkt_c None"]


def test_hook_shutdown_is_not_called_for_a_plugin_that_failed_to_start(
    make_app: Callable[..., Any],
) -> None:
    events: list[str] = []

    def startup(ctx: PluginContext) -> None:
        raise RuntimeError("no")

    app = make_app(
        [define_plugin("lkt_x", startup=startup, shutdown=lambda: events.append("stop"))]
    )
    with TestClient(app):
        pass
    assert events == []


# -- the meta-test -----------------------------------------------------------------------


def _test_names() -> set[str]:
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_every_hookspec_has_a_test_and_documentation(hook: str) -> None:
    tests = [name for name in _test_names() if name.startswith(f"test_hook_{hook}")]
    assert tests, f"write a test named test_hook_{hook}_... in {Path(__file__).name}"
    headings = DOCS.read_text(encoding="utf-8").splitlines()
    assert f"### {hook}" in headings, f"document the hook under '### {hook}' in docs/plugins.md"


def test_the_hook_names_are_the_ones_the_design_fixes() -> None:
    assert set(HOOK_NAMES) == {
        "register_routes",
        "register_migrations",
        "register_actors",
        "register_health_checks",
        "register_realtime",
        "register_commands",
        "register_image_providers",
        "register_schedules",
        "register_reconciliation_checks",
        "startup",
        "shutdown",
    }
