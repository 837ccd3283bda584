"""A SQLite ``DATABASE_URL`` whose folder does not exist is a clear startup error; only the
default ``./var`` folder is created."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lumiku.db import create_engine
from lumiku.errors import ConfigurationError


def test_an_explicit_path_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    with pytest.raises(ConfigurationError, match="does not exist") as caught:
        create_engine(f"sqlite:///{missing / 'x.db'}")
    assert caught.value.details["problems"][0]["variable"] == "DATABASE_URL"
    assert not missing.parent.exists()  # nothing was created


def test_a_relative_path_in_a_missing_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError):
        create_engine("sqlite:///./data/lumiku.db")
    assert not (tmp_path / "data").exists()


def test_the_default_folder_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    engine = create_engine("sqlite:///./var/lumiku.db")
    engine.dispose()
    assert (tmp_path / "var").is_dir()


def test_an_existing_folder_and_memory_need_nothing(tmp_path: Path) -> None:
    create_engine(f"sqlite:///{tmp_path / 'x.db'}").dispose()
    create_engine("sqlite:///:memory:").dispose()


def test_the_cli_says_so_in_one_line(
    run_cli: Any, lumiku_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**lumiku_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'nonexistent' / 'dir' / 'x.db'}"}
    result = run_cli(env, "users", "list")
    assert result.code == 1
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("❌ DATABASE_URL names the SQLite file")
    assert "Traceback" not in result.out + result.err
    assert "✅" not in result.out + result.err
