"""The served /openapi.json and the behaviour agree: schemathesis sends generated requests
(valid and invalid) to every operation through the ASGI app and checks that no answer is a
5xx, every status is declared, every body matches its declared schema, and declared
headers are sent. A second test proves the harness fails when they disagree."""

from __future__ import annotations

import types
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.python.asgi import get_client, shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette

from lumiku import Call, Conflict, PluginSpec, get, hookimpl
from lumiku.plugins.discovery import discover
from lumiku.testing import serve_in_thread

PASSWORD = "contract-test-passphrase-41"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 10}
LAST = {"POST /api/auth/logout"}  # revokes the token the other operations use
AVATARS = "/api/apps/avatar-creator"


@pytest.fixture
def duitku() -> Iterator[dict[str, str]]:
    """Yield the variables of the payments plugin, pointed at a Duitku emulator over HTTP
    when the plugin is installed (payments are then created for real)."""
    env = {"DUITKU_MERCHANT_CODE": "D0001", "DUITKU_API_KEY": "contract-key"}
    try:
        from lumiku_payments_duitku.emulator import API_PATH, DuitkuEmulator
    except ImportError:  # the plugin is not installed: nothing to point anywhere
        yield env
        return
    emulator = DuitkuEmulator(env["DUITKU_MERCHANT_CODE"], env["DUITKU_API_KEY"])
    with serve_in_thread(emulator.app) as url:
        yield {**env, "DUITKU_BASE_URL": url + API_PATH, "DUITKU_POLL_EVERY": "3600"}


@pytest.fixture
def served(
    make_app: Callable[..., Starlette], duitku: dict[str, str]
) -> Iterator[Callable[[list[Any]], Starlette]]:
    """Return ``serve(plugins)``: an app whose lifespan schemathesis runs, stopped at teardown."""

    def serve(plugins: list[Any]) -> Starlette:
        return make_app(plugins, **duitku)

    yield serve
    shutdown_lifespans()


def sign_in(app: Starlette, role: str) -> str:
    """Return a bearer token of a new account with ``role``."""
    auth = app.state.runtime.auth
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    auth.create_user(email, PASSWORD, role)
    _user, token = auth.login(email, PASSWORD, None)
    return str(token.token)


def describe(exc: BaseException) -> set[str]:
    """Return one line per check failure in ``exc`` (a schemathesis failure or a group)."""
    if isinstance(exc, BaseExceptionGroup):
        return {line for inner in exc.exceptions for line in describe(inner)}
    text = " ".join(str(exc).split())
    return {text[:300]}


def known_ids(app: Starlette, token: str) -> dict[str, str]:
    """Return path parameters naming things that exist (a project, a preset, a payment), when
    installed."""
    headers = {"Authorization": f"Bearer {token}"}
    known = {"plugin": "avatar-creator"}
    with get_client(app) as client:
        project = client.post(f"{AVATARS}/projects", json={"name": "Contract"}, headers=headers)
        if project.status_code == 201:
            known["projectId"] = project.json()["id"]
        presets = client.get(f"{AVATARS}/presets", headers=headers)
        if presets.status_code == 200 and presets.json()["presets"]:
            known["presetId"] = presets.json()["presets"][0]["id"]
        payment = client.post("/api/payments", json={"packageId": "topup-1500"}, headers=headers)
        if payment.status_code == 201:
            known["merchantOrderId"] = payment.json()["merchantOrderId"]
    return known


def strategy(operation: Any, mode: GenerationMode, known: dict[str, str]) -> Any:
    """Return cases of ``operation``: generated, and (valid ones) also with existing ids."""
    generated = operation.as_strategy(generation_mode=mode)
    names = {p.name for p in operation.path_parameters} & set(known)
    if not names or mode is not GenerationMode.POSITIVE:
        return generated
    existing = operation.as_strategy(
        generation_mode=mode, path_parameters={name: known[name] for name in names}
    )
    return hypothesis.strategies.one_of(generated, existing)


def check(cases: Any, count: int, headers: dict[str, str]) -> set[str]:
    """Call and validate ``count`` cases drawn from ``cases``; return the failures."""
    problems: set[str] = set()

    @hypothesis.given(case=cases)
    @hypothesis.settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as exc:  # one check failed, or several
            problems.update(describe(exc))

    run()
    return problems


def contract_failures(app: Starlette, examples: dict[GenerationMode, int]) -> list[str]:
    """Run schemathesis over every operation of ``app``; return one line per failure."""
    with get_client(app) as client:  # starts the app's lifespan, kept until teardown
        assert client.get("/health").status_code == 200
    tokens = {"user": sign_in(app, "user"), "admin": sign_in(app, "admin")}
    known = known_ids(app, tokens["user"])
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = sorted(  # deletes and the logout last: they remove what the others use
        (result.ok() for result in schema.get_all_operations()),
        key=lambda op: (op.label in LAST, op.method.upper() == "DELETE", op.label),
    )
    failures: list[str] = []
    for operation in operations:
        role = "admin" if "403" in operation.definition.raw.get("responses", {}) else "user"
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        for mode, count in examples.items():
            try:
                problems = check(strategy(operation, mode, known), count, headers)
            except hypothesis.errors.Unsatisfiable:  # nothing to make invalid (no parameters)
                assert mode is GenerationMode.NEGATIVE, operation.label
                continue
            failures.extend(f"{operation.label} ({mode}): {problem}" for problem in problems)
    return failures


def test_the_served_document_matches_the_behaviour(served: Any) -> None:
    app = served(discover())
    failures = contract_failures(app, EXAMPLES)
    assert not failures, "\n".join(failures)


@attrs.frozen
class Claimed:
    """What the lying route says it answers."""

    id: str


def lying_routes(ctx: Any) -> list[Any]:
    def conflict(_call: Call[None, None]) -> Claimed:
        """Raise a status the declaration does not list."""
        raise Conflict("undeclared")

    def extra(_call: Call[None, None]) -> dict[str, str]:
        """Answer a body with a key the schema does not have."""
        return {"id": "x", "secret": "not in the schema"}

    return [
        get("/conflict", conflict, response=Claimed),
        get("/extra", extra, response=Claimed),
    ]


LIAR = PluginSpec(
    id="lkt_liar",
    hooks=types.SimpleNamespace(register_routes=hookimpl(lying_routes)),  # type: ignore[arg-type]
)


def test_the_contract_check_fails_when_document_and_behaviour_disagree(served: Any) -> None:
    app = served([LIAR])
    failures = "\n".join(contract_failures(app, {GenerationMode.POSITIVE: 2}))
    assert "GET /api/apps/lkt-liar/conflict" in failures
    assert "Undocumented status code" in failures
    assert "GET /api/apps/lkt-liar/extra" in failures
    assert "Response violates schema" in failures
