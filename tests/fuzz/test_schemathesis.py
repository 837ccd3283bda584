"""Schemathesis (the ``st run`` command of the pinned release) against a real ``lumiku serve``
over HTTP, core and the three plugins enabled, payments pointed at a Duitku emulator.

Where ``tests/test_openapi_contract.py`` drives the ASGI app in-process with random ids,
this run goes through the server (its HTTP edge, real multipart, jobs run by the server)
as accounts made the way a client makes them: signed up and logged in over HTTP, the
admin created by ``lumiku users create --admin`` and logged in (``conftest.py``). Before
the run the test makes one of everything (projects, avatars, generations run to the end,
generated poses, pose requests, a payment, a signed file URL) and hands their ids to
schemathesis as dictionaries, so most path ids name things that exist; uploads get real
images (``schemathesis_hooks.py``). Every operation of the served document is run in all
four phases (examples, coverage, fuzzing, stateful), with valid and invalid data.

Checks: no 5xx, every status declared, content types, declared headers, and bodies
matching their schemas; ``ignored_auth`` (an operation that says it needs a token refuses
a request without one), ``use_after_free`` (a deleted thing stays gone) and
``negative_data_rejection`` (a request the document calls invalid is refused with a 4xx).

``LUMIKU_FUZZ_EXAMPLES`` (default 10) is the number of examples per operation and phase;
``LUMIKU_FUZZ_SEED`` the seed (default 1, so CI repeats); ``LUMIKU_FUZZ_WORKERS`` the
requests in flight at once (default 1: as fast on this machine, and with 8 the generator
itself crashed, a thread-safety fault of Hypothesis on Python 3.11); ``LUMIKU_FUZZ_CHECKS``
the checks (``all`` adds schemathesis's others, which the server is not meant to pass: see
docs/decisions.md). The figures of the run are printed (``-s``). A test makes sure a 5xx,
an undeclared status and a body off its schema fail the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.slow

AVATARS = "/api/apps/avatar-creator"
POSES = "/api/apps/pose-generator"
EXAMPLES = int(os.environ.get("LUMIKU_FUZZ_EXAMPLES", "10"))
SEED = int(os.environ.get("LUMIKU_FUZZ_SEED", "1"))
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
CHECKS = (
    os.environ.get("LUMIKU_FUZZ_CHECKS", "").split(",")
    if os.environ.get("LUMIKU_FUZZ_CHECKS")
    else (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "ignored_auth",
        "use_after_free",
        "negative_data_rejection",
    )
)

PATH_BINDINGS = {  # (path prefix, parameter): dictionary; DELETE takes the "_doomed" one
    (AVATARS, "projectId"): "avatar_projects",
    (AVATARS, "avatarId"): "avatars",
    (AVATARS, "generationId"): "avatar_generations",
    (AVATARS, "presetId"): "presets",
    (f"{POSES}/library", "poseId"): "library_poses",
    (f"{POSES}/poses", "poseId"): "generated_poses",
    (POSES, "kind"): "pose_kinds",
    (POSES, "projectId"): "pose_projects",
    (POSES, "generationId"): "pose_generations",
    (POSES, "requestId"): "pose_requests",
    ("/api/payments", "merchantOrderId"): "payments",
    ("/api/payments", "packageId"): "packages",
    ("/api/apps", "plugin"): "plugins",
    ("/files", "key"): "file_keys",
    ("/files", "expires"): "file_expires",
    ("/files", "signature"): "file_signatures",
}
BODY_BINDINGS = {  # (path prefix, body field): dictionary
    (POSES, "projectId"): "pose_projects",
    (POSES, "selectedPoseIds[*]"): "library_poses",
    (POSES, "avatarId"): "avatars",
    (POSES, "avatarImageUrl"): "image_urls",
    (POSES, "backgroundImageUrl"): "image_urls",
    (POSES, "referenceImageUrl"): "image_urls",
    (POSES, "poseId"): "library_poses",
    (POSES, "formats[*]"): "export_formats",
    (POSES, "outputFormats[*]"): "export_formats",
    (AVATARS, "presetId"): "presets",
    ("/api/payments", "packageId"): "packages",
    ("/api/payments", "merchantOrderId"): "payments",
    ("/api/admin", "userId"): "users",
}


def body_fields(document: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    """Return the top-level field names of ``operation``'s request body."""
    fields: set[str] = set()
    for media in operation.get("requestBody", {}).get("content", {}).values():
        schema = media.get("schema", {})
        if "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        fields.update(schema.get("properties", {}))
    return fields


def operation_config(
    document: dict[str, Any], method: str, path: str, tokens: dict[str, str], known: set[str]
) -> dict[str, Any]:
    """Return the ``[[operations]]`` entry of one operation: its token, its dictionaries
    (those of ``known``)."""
    operation = document["paths"][path][method]
    label = f"{method.upper()} {path}"
    role = "admin" if "403" in operation["responses"] else "user"
    role = {"POST /api/auth/logout": "logout", "PUT /api/auth/profile": "profile"}.get(label, role)
    parameters: dict[str, Any] = {}
    names = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
    for (prefix, name), dictionary in PATH_BINDINGS.items():
        location = next((where for where, named in names if named == name), None)
        key = f"{location}.{name}"
        if (
            not location
            or not path.startswith(prefix)
            or dictionary not in known
            or key in parameters
        ):
            continue  # the first binding that fits wins
        if method == "delete" and location == "path":
            dictionary += "_doomed"
        parameters[key] = {"dictionary": dictionary, "probability": 0.85}
    fields = body_fields(document, operation)
    for (prefix, field), dictionary in BODY_BINDINGS.items():
        if path.startswith(prefix) and field.removesuffix("[*]") in fields and dictionary in known:
            parameters[f"body.{field}"] = {"dictionary": dictionary, "probability": 0.6}
    entry: dict[str, Any] = {
        "include-name": label,
        "headers": {"Authorization": f"Bearer {tokens[role]}"},
    }
    if parameters:
        entry["parameters"] = parameters
    return entry


def toml_value(value: Any) -> str:
    """Return ``value`` (str, int, float, list, dict) as a TOML inline value."""
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return json.dumps(value)


def write_config(
    path: Path, document: dict[str, Any], tokens: dict[str, str], found: dict[str, list[Any]]
) -> None:
    """Write the schemathesis configuration: hooks, dictionaries, one entry per operation."""
    dictionaries = dict(found)
    for name in list(found):  # a DELETE of a kind without doomed ones gets the others
        if not name.endswith("_doomed"):
            dictionaries.setdefault(f"{name}_doomed", found[name])
    lines = [f"hooks = {json.dumps(str(HOOKS))}", ""]
    for name, values in sorted(dictionaries.items()):
        lines += [f"[dictionaries.{name}]", f"values = {toml_value(values)}", ""]
    for route, methods in sorted(document["paths"].items()):
        for method in sorted(methods):
            entry = operation_config(document, method, route, tokens, set(found))
            lines.append("[[operations]]")
            lines += [f"{key} = {toml_value(value)}" for key, value in entry.items()]
            lines.append("")
    path.write_text("\n".join(lines))


@attrs.frozen
class Outcome:
    """What a schemathesis run found."""

    operations: int
    cases: int
    failures: list[str]
    server_errors: int
    report: dict[str, Any]


def run_schemathesis(
    url: str,
    workdir: Path,
    tokens: dict[str, str],
    found: dict[str, list[Any]],
    examples: int,
    *options: str,
) -> Outcome:
    """Run ``st run`` over every operation of ``url``'s document (``options``: more of its
    options, such as filters); return what it found."""
    document = httpx.get(f"{url}/openapi.json", timeout=30).json()
    config, report = workdir / "schemathesis.toml", workdir / "schemathesis-report.json"
    write_config(config, document, tokens, found)
    command = [
        str(Path(sys.executable).parent / "st"),
        "--config-file",
        str(config),
        "run",
        f"{url}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(examples),
        "--seed",
        str(SEED),
        "--workers",
        os.environ.get("LUMIKU_FUZZ_WORKERS", "1"),
        "--request-timeout",
        "60",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--output-truncate",
        "true",
        *options,
    ]
    env = {**os.environ, "LUMIKU_FUZZ_FILE_KEY": found.get("file_key", [""])[0]}
    ran = subprocess.run(
        command, capture_output=True, text=True, timeout=1800, check=False, cwd=workdir, env=env
    )
    (workdir / "schemathesis.out").write_text(ran.stdout + ran.stderr)
    assert report.exists(), ran.stdout[-6000:] + ran.stderr[-6000:]
    data = json.loads(report.read_text())
    failures = [describe(failure) for failure in data["failures"]]
    if failures:  # the command's own account: each failing case, its response, a curl line
        failures.append(ran.stdout.partition("= FAILURES =")[2].partition("= WARNINGS =")[0])
    failures += [f"error: {json.dumps(error)[:400]}" for error in data["errors"]]
    server_errors = sum(
        failure["count"] for failure in data["failures"] if "ServerError" in failure["type"]
    )
    if ran.returncode and not failures:
        failures.append(f"st exited {ran.returncode}:\n{ran.stdout[-4000:]}{ran.stderr[-2000:]}")
    return Outcome(
        operations=data["operations"]["tested"],
        cases=data["test_cases"]["generated"],
        failures=failures,
        server_errors=server_errors,
        report=data,
    )


def describe(failure: dict[str, Any]) -> str:
    """Return one line of a failure of the JSON report."""
    return " ".join(json.dumps(failure).split())[:600]


def insufficient(url: str, admin_token: str) -> float:
    """Return how many credit operations the server refused for want of credits."""
    metrics = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {admin_token}"})
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics.text)
        for sample in family.samples
        if sample.name == "lumiku_credit_transactions_total"
        and sample.labels.get("outcome") == "insufficient"
    )


def test_every_operation_over_http_as_signed_in_users(
    start_server: Callable[..., Any], seed: Callable[..., Any], tmp_path: Path
) -> None:
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=60) as http:
        tokens, found = seed(http)
    document = httpx.get(f"{server.url}/openapi.json").json()
    outcome = run_schemathesis(server.url, tmp_path, tokens, found, EXAMPLES)
    # The charged operations again as an account without credits: their 402s.
    charged = [
        ("--include-name", f"{method.upper()} {path}")
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if "402" in operation["responses"]
    ]
    (tmp_path / "broke").mkdir()
    refused_before = insufficient(server.url, tokens["admin"])
    broke = run_schemathesis(
        server.url,
        tmp_path / "broke",
        {**tokens, "user": tokens["broke"]},
        {
            **found,
            "avatar_projects": found["broke_avatar_projects"],
            "pose_projects": found["broke_pose_projects"],
        },
        EXAMPLES,
        *(option for pair in charged for option in pair),
        "--phases",
        "fuzzing",
    )
    refused = insufficient(server.url, tokens["admin"]) - refused_before
    print(
        f"\nschemathesis over HTTP: {outcome.operations} operations, {outcome.cases} cases "
        f"({EXAMPLES} examples per operation and phase, seed {SEED}), then {broke.cases} "
        f"cases of the {broke.operations} charged ones without credits ({refused:.0f} "
        "refused for want of credits); failing kinds "
        f"{len(outcome.report['failures']) + len(broke.report['failures'])}, "
        f"5xx seen {outcome.server_errors + broke.server_errors}"
    )
    assert outcome.operations == sum(len(methods) for methods in document["paths"].values())
    assert broke.operations == len(charged) > 0
    assert refused > 0  # the charged operations answered 402s
    assert not outcome.failures + broke.failures, "\n".join(outcome.failures + broke.failures)
    assert "Traceback" not in server.log_text(), server.log_text()[-6000:]


LIAR_MODULE = '''
"""A plugin whose routes break their declaration, installed for the self-test of the run."""

import attrs

from lumiku import Call, Conflict, PluginSpec, get, hookimpl


@attrs.frozen
class Claimed:
    """What the lying routes say they answer."""

    id: str


class Hooks:
    @hookimpl
    def register_routes(self, ctx):
        def boom(_call: Call[None, None]) -> Claimed:
            raise RuntimeError("a bug")

        def conflict(_call: Call[None, None]) -> Claimed:
            raise Conflict("undeclared")

        def extra(_call: Call[None, None]) -> dict[str, str]:
            return {"id": "x", "secret": "not in the schema"}

        return [
            get("/boom", boom, response=Claimed, auth="user"),
            get("/conflict", conflict, response=Claimed, auth="user"),
            get("/extra", extra, response=Claimed, auth="user"),
        ]


spec = PluginSpec(id="lkt_liar", hooks=Hooks())
'''


def install_liar(site: Path) -> str:
    """Write the lying plugin and its distribution's metadata to ``site``; return ``site``."""
    site.mkdir()
    (site / "lkt_fuzz_liar.py").write_text(LIAR_MODULE)
    info = site / "lkt_fuzz_liar-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lkt-fuzz-liar\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[lumiku.plugins]\nlkt_liar = lkt_fuzz_liar:spec\n")
    return str(site)


def test_the_run_fails_on_a_5xx_an_undeclared_status_and_a_body_off_its_schema(
    start_server: Callable[..., Any], sign_up: Callable[..., Any], tmp_path: Path
) -> None:
    server = start_server(install_liar(tmp_path / "site"), embedded=True)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        _user_id, token = sign_up(http, "liar")
    tokens = dict.fromkeys(("user", "admin", "logout", "profile"), token)
    only = ("--include-path-regex", "^/api/apps/lkt-liar/")
    outcome = run_schemathesis(server.url, tmp_path, tokens, {}, 2, *only)
    found = {
        (failure["type"], operation)
        for failure in outcome.report["failures"]
        for operation in failure["operations"]
    }
    assert ("ServerError", "GET /api/apps/lkt-liar/boom") in found
    assert ("UndefinedStatusCode", "GET /api/apps/lkt-liar/conflict") in found
    assert ("JsonSchemaError", "GET /api/apps/lkt-liar/extra") in found
    assert outcome.server_errors >= 1
