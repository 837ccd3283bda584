"""deploy/: the systemd units pass ``systemd-analyze verify`` and share one metrics
directory; every command the units and the Procfile run is one ``lumiku`` accepts; the
example ``lumiku.toml`` names every setting of the shipped plugins and is read without a
problem or a warning by the real settings loader, as shipped and with every key uncommented.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from lumiku.cli.main import build_parser
from lumiku.plugins.discovery import discover
from lumiku.plugins.registry import PluginRegistry
from lumiku.plugins.spec import PluginSpec
from lumiku.plugins.state import PluginState
from lumiku.settings import load_settings
from lumiku.settings_fields import is_secret
from lumiku.testing.pytest_plugin import require_service

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))
INSTALLED = "/srv/lumiku/.venv/bin/lumiku"
SHIPPED = {"avatar_creator", "pose_generator", "payments_duitku"}


def _unit_values(unit: Path, key: str) -> list[str]:
    return [
        line.split("=", 1)[1].strip()
        for line in unit.read_text().splitlines()
        if line.startswith(f"{key}=")
    ]


def _lumiku_commands() -> list[list[str]]:
    """Return the arguments of every ``lumiku`` command the units and the Procfile run."""
    commands: list[str] = []
    for unit in UNITS:
        commands += _unit_values(unit, "ExecStartPre") + _unit_values(unit, "ExecStart")
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line and not line.startswith("#"):
            commands += line.split(":", 1)[1].split("&&")
    found = []
    for command in commands:
        words = shlex.split(command.replace("$PORT", "3000"))
        assert words[0] in {INSTALLED, "lumiku"}, command
        found.append(words[1:])
    return found


@pytest.mark.parametrize("unit", UNITS, ids=lambda path: path.name)
def test_systemd_accepts_the_unit(unit: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    require_service("systemd-analyze", analyze is not None)
    assert analyze is not None
    lumiku = Path(sys.executable).with_name("lumiku")
    copy = tmp_path / unit.name
    copy.write_text(unit.read_text().replace(INSTALLED, str(lumiku)))
    done = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout + done.stderr == ""


def test_web_and_workers_share_one_metrics_directory_that_systemd_creates() -> None:
    directories = set()
    for unit in UNITS:
        (setting,) = [
            value
            for value in _unit_values(unit, "Environment")
            if value.startswith("PROMETHEUS_MULTIPROC_DIR=")
        ]
        directory = setting.split("=", 1)[1]
        assert _unit_values(unit, "StateDirectory") == [directory.removeprefix("/var/lib/")], (
            unit.name
        )
        # Defaults first: the operator's EnvironmentFile wins over Environment=.
        text = unit.read_text()
        assert text.index("Environment=PROMETHEUS") < text.index("EnvironmentFile=")
        directories.add(directory)
    assert len(directories) == 1
    assert len(UNITS) == 2


def test_every_deploy_command_is_one_lumiku_accepts() -> None:
    parser = build_parser(with_plugins=False)
    commands = _lumiku_commands()
    assert {words[0] for words in commands} == {"doctor", "migrate", "serve", "worker"}
    for words in commands:
        parser.parse_args(words)  # SystemExit(2) on an unknown option


def _specs() -> dict[str, PluginSpec]:
    return {candidate.name: candidate.load() for candidate in discover()}


def _uncommented(text: str) -> str:
    """Return ``text`` with each commented-out ``# key = value`` line made a real one."""
    pattern = re.compile(r"^# (\w+ = )")
    return "\n".join(pattern.sub(r"\1", line) for line in text.splitlines()) + "\n"


def test_the_example_names_every_setting_and_credit_of_the_shipped_plugins() -> None:
    text = _uncommented((DEPLOY / "lumiku.toml.example").read_text())
    sections = dict(re.findall(r"^\[([\w.]+)\]\n((?:(?!\[).*\n)*)", text, flags=re.M))
    specs = _specs()
    assert set(specs) >= SHIPPED
    for plugin_id in SHIPPED:
        spec = specs[plugin_id]
        keys = set(re.findall(r"^(\w+) =", sections[f"plugins.{plugin_id}"], flags=re.M))
        assert spec.settings is not None
        wanted = {f.name for f in attrs.fields(spec.settings) if not is_secret(f)}
        assert keys == wanted, plugin_id
        if spec.credits:
            actions = set(re.findall(r"^(\w+) =", sections[f"credits.{plugin_id}"], flags=re.M))
            assert actions == set(spec.credits), plugin_id


@pytest.mark.parametrize("uncommented", [False, True], ids=["as-shipped", "every-key-set"])
@pytest.mark.parametrize("env", ["development", "production"])
def test_the_example_is_read_without_a_problem(tmp_path: Path, uncommented: bool, env: str) -> None:
    text = (DEPLOY / "lumiku.toml.example").read_text()
    config = tmp_path / "lumiku.toml"
    config.write_text(_uncommented(text) if uncommented else text)
    environ = {
        "LUMIKU_ENV": env,
        "LUMIKU_CONFIG": str(config),
        "JWT_SECRET": "q7Vn2Lx9Rt4Kp8Zm3Wc6Hy1Bf5Jd0Gs7",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "LUMIKU_STORAGE_DIR": str(tmp_path / "uploads"),
        "REDIS_ENABLED": "false",
        "CORS_ORIGIN": "https://app.lumiku.id",
        "LUMIKU_PUBLIC_URL": "https://api.lumiku.id",
        "DUITKU_MERCHANT_CODE": "D1234",
        "DUITKU_API_KEY": "k" * 32,
        "DUITKU_ENV": env if env == "production" else "sandbox",
        "DUITKU_RETURN_URL": "https://app.lumiku.id/paid",
        "DUITKU_CALLBACK_URL": "https://api.lumiku.id/api/payments/callback",
    }
    settings = load_settings(environ)  # ConfigurationError lists every problem
    registry = PluginRegistry(settings, redis_available=False)
    registry.load(discover())

    assert registry.configuration_problems() == []
    assert registry.configuration_warnings() == []
    for plugin_id in SHIPPED:
        record = registry.records[plugin_id]
        assert record.state not in (PluginState.FAILED, PluginState.DISABLED), record.describe()
