"""What the deploy notes and the plugin READMEs tell an operator about proxies is true:
the server reads ``X-Forwarded-For`` only from ``LUMIKU_TRUSTED_PROXIES`` (uvicorn's own
proxy headers handling is off)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_procfile_platform_note_names_the_trusted_proxies() -> None:
    text = (ROOT / "deploy" / "Procfile").read_text()
    note = text.split("(Heroku, Dokku)", 1)[1].split("web:", 1)[0]
    assert "LUMIKU_TRUSTED_PROXIES" in note
    assert "login throttle" in note


@pytest.mark.parametrize(
    "readme", sorted(ROOT.glob("plugins/*/README.md")), ids=lambda p: p.parent.name
)
def test_no_readme_sends_operators_to_uvicorns_proxy_setting(readme: Path) -> None:
    for line in readme.read_text().splitlines():
        if "FORWARDED_ALLOW_IPS" in line:
            assert "LUMIKU_TRUSTED_PROXIES" in line
            assert "off" in line


def test_uvicorns_proxy_headers_stay_off() -> None:
    from lumiku.http.serving import server_config
    from lumiku.settings import load_settings

    config = server_config(
        load_settings({"LUMIKU_ENV": "test"}), host="127.0.0.1", port=0, workers=1
    )
    assert config.proxy_headers is False
