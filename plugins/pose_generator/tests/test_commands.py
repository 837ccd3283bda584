"""``lumiku pose-generator seed`` on the deployment's database."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from lumiku_pose_generator.library_data import POSES


def test_the_seed_command_restores_missing_poses(
    client: TestClient,
    kit: Any,
    lumiku_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from lumiku.cli.main import main

    with kit.runtime(client).engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM pose_library WHERE id = :id"), {"id": POSES[-1].id})
    for name, value in lumiku_env.items():
        monkeypatch.setenv(name, value)

    assert main(["pose-generator", "seed"]) == 0
    assert "poses +1 ~0" in capsys.readouterr().out
    assert kit.count_rows(client, "pose_library") == len(POSES)
    assert main(["pose-generator", "seed"]) == 0
    assert "categories +0 ~0, poses +0 ~0" in capsys.readouterr().out


def test_the_seed_command_exits_2_on_invalid_settings(
    lumiku_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lumiku.cli.main import build_parser

    for name, value in lumiku_env.items():
        monkeypatch.setenv(name, value)
    args = build_parser().parse_args(["pose-generator", "seed"])
    monkeypatch.setenv("LUMIKU_ENV", "nowhere")
    with pytest.raises(SystemExit) as exit_info:
        args.func(args)
    assert exit_info.value.code == 2
    assert "LUMIKU_ENV" in capsys.readouterr().err
