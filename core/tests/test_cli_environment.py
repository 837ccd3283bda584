"""``lumiku.configured_database()``: a plugin command's engine on the deployment's database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import lumiku


def test_it_opens_the_configured_database(
    database_url: str, lumiku_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in lumiku_env.items():
        monkeypatch.setenv(name, value)
    with lumiku.configured_database() as engine:
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar_one() == 1
        assert engine.url.database
        assert engine.url.database in database_url


def test_invalid_settings_print_every_problem_and_exit_2(
    lumiku_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in lumiku_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(SystemExit) as exit_info, lumiku.configured_database():
        pass
    assert exit_info.value.code == 2
    assert "PORT" in capsys.readouterr().err
