"""A third-party plugin, written to a temporary folder and installed with pip into a fresh
virtual environment, is discovered through its entry point: its route answers, its
migration is applied, ``lumiku plugins list`` shows it; after ``pip uninstall`` the app
still boots and ``lumiku migrate status`` reports the branch left behind.

To stay fast and offline the new environment borrows this one's packages (a ``.pth`` file
adds its site-packages, so ``lumiku`` and its dependencies import) and pip builds the
plugin with a tiny in-tree PEP 517 backend instead of downloading setuptools and wheel.
Everything else is the real thing: ``pip install``, entry points, the CLI in a subprocess.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from lumiku.db import create_engine

pytestmark = pytest.mark.slow

PLUGIN_ID = "venv_probe"
DISTRIBUTION = "lumiku-venv-probe"

FILES = {
    "pyproject.toml": f"""
        [build-system]
        requires = []
        build-backend = "probe_backend"
        backend-path = ["_build"]

        [project]
        name = "{DISTRIBUTION}"
        version = "0.3.0"
        description = "A plugin written by a test"
        requires-python = ">=3.11"
        dependencies = ["lumiku>=0.1.0"]

        [project.entry-points."lumiku.plugins"]
        {PLUGIN_ID} = "lumiku_venv_probe.plugin:spec"
    """,
    "_build/probe_backend.py": '''
        """A minimal PEP 517 backend: a wheel of ``src/`` with the [project] metadata."""

        import base64
        import hashlib
        import tomllib
        import zipfile
        from pathlib import Path


        def get_requires_for_build_wheel(config_settings=None):
            return []


        def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
            project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
            name = project["name"].replace("-", "_")
            info = f"{name}-{project['version']}.dist-info"
            files = {
                path.relative_to("src").as_posix(): path.read_bytes()
                for path in sorted(Path("src").rglob("*"))
                if path.is_file() and "__pycache__" not in path.parts
            }
            metadata = [
                "Metadata-Version: 2.1",
                f"Name: {project['name']}",
                f"Version: {project['version']}",
                f"Summary: {project['description']}",
                *(f"Requires-Dist: {dependency}" for dependency in project["dependencies"]),
            ]
            files[f"{info}/METADATA"] = ("\\n".join(metadata) + "\\n").encode()
            wheel_info = ["Wheel-Version: 1.0", "Generator: probe", "Root-Is-Purelib: true"]
            wheel_info.append("Tag: py3-none-any")
            files[f"{info}/WHEEL"] = ("\\n".join(wheel_info) + "\\n").encode()
            entry_points = []
            for group, entries in project["entry-points"].items():
                entry_points.append(f"[{group}]")
                entry_points += [f"{key} = {value}" for key, value in entries.items()]
            files[f"{info}/entry_points.txt"] = ("\\n".join(entry_points) + "\\n").encode()
            record = []
            for path, data in files.items():
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
                record.append(f"{path},sha256={digest.decode()},{len(data)}")
            record.append(f"{info}/RECORD,,")
            files[f"{info}/RECORD"] = ("\\n".join(record) + "\\n").encode()
            wheel = f"{name}-{project['version']}-py3-none-any.whl"
            with zipfile.ZipFile(Path(wheel_directory) / wheel, "w") as archive:
                for path, data in files.items():
                    archive.writestr(path, data)
            return wheel
    ''',
    "src/lumiku_venv_probe/__init__.py": '"""A plugin installed by a test."""\n',
    "src/lumiku_venv_probe/plugin.py": f"""
        from lumiku import PluginSpec, hookimpl  # noqa: F401

        spec = PluginSpec(
            id="{PLUGIN_ID}",
            title="Venv Probe",
            version="0.3.0",
            requires=("database",),
            credits={{"probe": 3}},
            hooks="lumiku_venv_probe.hooks",
        )
    """,
    "src/lumiku_venv_probe/hooks.py": """
        import attrs
        import sqlalchemy as sa

        from lumiku import Call, field, get, hookimpl, post

        items = sa.table("venv_probe_items", sa.column("id"), sa.column("name"))


        @attrs.frozen
        class NewItem:
            name: str = field(min_length=1, max_length=50)


        @hookimpl
        def register_routes(ctx):
            def hello(call: Call[None, None]) -> dict:
                return {"plugin": ctx.id, "cost": ctx.cost("probe")}

            def add(call: Call[NewItem, None]) -> dict:
                with ctx.engine.begin() as conn:
                    conn.execute(sa.insert(items).values(name=call.body.name))
                with ctx.engine.connect() as conn:
                    names = conn.execute(sa.select(items.c.name).order_by(items.c.id)).scalars()
                    return {"names": list(names)}

            return [get("/hello", hello), post("/items", add, body=NewItem, status=201)]


        @hookimpl
        def register_migrations():
            return "lumiku_venv_probe:migrations"


        @hookimpl
        def register_health_checks(ctx):
            return {"ready": lambda: True}
    """,
    "src/lumiku_venv_probe/migrations/venv_probe_0001_items.py": f"""
        import sqlalchemy as sa
        from alembic import op

        revision = "{PLUGIN_ID}_0001_items"
        down_revision = None
        branch_labels = ("{PLUGIN_ID}",)
        depends_on = "0001_users"


        def upgrade():
            op.create_table(
                "venv_probe_items",
                sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("name", sa.String(50), nullable=False),
            )


        def downgrade():
            op.drop_table("venv_probe_items")
    """,
}

PROBE_APP = """
import json
import os

from starlette.testclient import TestClient

from lumiku.app import create_app

TOKEN = "probe-operator-token-0123456789"
os.environ["LUMIKU_METRICS_TOKEN"] = TOKEN
OPERATOR = {"Authorization": "Bearer " + TOKEN}

with TestClient(create_app(), raise_server_exceptions=False) as client:
    answers = {
        "health": client.get("/health").status_code,
        "plugins": {
            p["id"]: p["state"]
            for p in client.get("/api/plugins", headers=OPERATOR).json()["plugins"]
        },
        "hello": client.get("/api/apps/venv-probe/hello").json(),
        "add": client.post("/api/apps/venv-probe/items", json={"name": "lamp"}).json(),
        "invalid": client.post("/api/apps/venv-probe/items", content=b"{no").status_code,
        "openapi": "/api/apps/venv-probe/items" in client.get("/openapi.json").json()["paths"],
    }
print(json.dumps(answers))
"""


@attrs.frozen
class Venv:
    """A fresh virtual environment and the environment variables its commands run with."""

    python: Path
    env: dict[str, str]

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.python), *argv],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if check:
            assert result.returncode == 0, (argv, result.stdout, result.stderr)
        return result

    def lumiku(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "lumiku.cli.main", *argv)


def write_plugin(root: Path) -> Path:
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def make_venv(where: Path, settings: dict[str, str]) -> Venv:
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120
    )
    python = where / "bin" / "python"
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    purelib = where / "lib" / version / "site-packages"
    ours = sysconfig.get_paths()["purelib"]
    # addsitedir (not a bare path) so that the editable installs' own .pth files apply.
    (purelib / "lumiku-dev.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(where),
        "LANG": "C.UTF-8",
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        **settings,
    }
    return Venv(python, env)


def test_a_plugin_installed_with_pip_is_discovered_and_can_be_uninstalled(
    tmp_path: Path, database_url: str
) -> None:
    config = tmp_path / "lumiku.toml"
    config.write_text("")
    venv = make_venv(
        tmp_path / "venv",
        {
            "LUMIKU_ENV": "test",
            "DATABASE_URL": database_url,
            "JWT_SECRET": secrets.token_urlsafe(48),
            "REDIS_ENABLED": "false",
            "LUMIKU_CONFIG": str(config),
            "LUMIKU_STORAGE_DIR": str(tmp_path / "uploads"),
        },
    )
    source = write_plugin(tmp_path / "venv-probe")

    installed = venv.run("-m", "pip", "install", "--no-deps", "--no-build-isolation", str(source))
    assert f"Successfully installed {DISTRIBUTION}-0.3.0" in installed.stdout

    listing = venv.lumiku("plugins", "list").stdout.splitlines()
    # Installed but not migrated: it waits for `lumiku migrate`.
    assert [PLUGIN_ID, "0.3.0", "migrations_pending"] in [line.split()[:3] for line in listing]

    migrated = venv.lumiku("migrate")
    assert PLUGIN_ID in migrated.stdout
    listing = venv.lumiku("plugins", "list").stdout.splitlines()
    assert [PLUGIN_ID, "0.3.0", "running"] in [line.split() for line in listing]
    engine = create_engine(database_url)
    try:
        assert "venv_probe_items" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()

    answers = json.loads(venv.run("-c", PROBE_APP).stdout.splitlines()[-1])
    assert answers["health"] == 200
    assert answers["plugins"][PLUGIN_ID] == "running"
    assert answers["hello"] == {"plugin": PLUGIN_ID, "cost": 3}
    assert answers["add"] == {"names": ["lamp"]}
    assert answers["invalid"] == 400
    assert answers["openapi"] is True

    venv.run("-m", "pip", "uninstall", "--yes", DISTRIBUTION)

    after = json.loads(venv.run("-c", PROBE_APP).stdout.splitlines()[-1])
    assert after["health"] == 200
    assert PLUGIN_ID not in after["plugins"]
    assert after["hello"]["error"]["code"] == "NOT_FOUND"
    assert after["openapi"] is False

    orphaned = venv.lumiku("migrate", "status")
    steps = (
        f"To drop them: install the package that provides {PLUGIN_ID} again, run "
        f"`lumiku migrate downgrade --plugin {PLUGIN_ID}`, then uninstall it"
    )
    assert (
        f"⚠️ {PLUGIN_ID}: {PLUGIN_ID}_0001_items / head - [orphaned] (plugin {PLUGIN_ID} is "
        f"not installed, but its tables remain (revision {PLUGIN_ID}_0001_items). {steps}"
    ) in orphaned.stdout
    listing = venv.lumiku("plugins", "list").stdout
    assert f"{PLUGIN_ID}" in listing
    assert steps in listing

    # Following the reported steps drops the tables, and nothing is reported any more.
    venv.run("-m", "pip", "install", "--no-deps", "--no-build-isolation", str(source))
    downgraded = venv.lumiku("migrate", "downgrade", "--plugin", PLUGIN_ID)
    assert f"{PLUGIN_ID} downgraded to base" in downgraded.stdout
    venv.run("-m", "pip", "uninstall", "--yes", DISTRIBUTION)
    engine = create_engine(database_url)
    try:
        assert "venv_probe_items" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    assert "orphaned" not in venv.lumiku("migrate", "status").stdout
    assert PLUGIN_ID not in venv.lumiku("plugins", "list").stdout
