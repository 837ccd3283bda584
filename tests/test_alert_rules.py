"""deploy/alerts.yml: valid rules (``promtool check rules``), each alert firing on the series
it is for (``promtool test rules tests/alerts_test.yml``), and every metric, label and label
value it names one that the app exports (``lumiku.metrics.Metrics``) or records.

promtool comes with Debian's ``prometheus`` package (.ci/run installs the binary alone);
without it the promtool tests skip, except under ``CI``, where they fail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.metrics import MetricWrapperBase

from lumiku.jobs.stats import JobState
from lumiku.metrics import Metrics
from lumiku.plugins.state import PluginState
from lumiku.testing.pytest_plugin import require_service

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "alerts.yml"
RULE_TESTS = ROOT / "tests" / "alerts_test.yml"
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
}
_SELECTOR = re.compile(r"\b(lumiku_\w+)(?:\{([^}]*)\})?")
_MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
# Labels Prometheus adds when it scrapes (the target), not the app.
_TARGET_LABELS = {"instance", "job"}


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _exported() -> dict[str, set[str]]:
    """Return each sample name the app exports with the label names it carries."""
    metrics = Metrics()
    found: dict[str, set[str]] = {}
    for value in vars(metrics).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        name, kind = value._name, value._type  # no public accessor
        labels = set(value._labelnames)
        if kind == "histogram":
            found[f"{name}_bucket"] = labels | {"le"}
        for suffix in _SUFFIXES[kind]:
            found.setdefault(f"{name}{suffix}", labels)
    return found


def _ledger_operations() -> set[str]:
    source = (ROOT / "core/src/lumiku/ledger/service.py").read_text()
    return set(re.findall(r'_observe(?:d)?\("(\w+)"', source))


KNOWN_VALUES = {
    "state": {state.value for state in JobState} | {state.value for state in PluginState},
    "outcome": {"ok", "insufficient", "rejected", "error"},
    "status": {"1xx", "2xx", "3xx", "4xx", "5xx"},
}


def test_every_rule_has_a_name_an_expression_a_severity_and_a_summary() -> None:
    rules = _rules()
    assert len(rules) >= 5
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"Lumiku[A-Z]\w+", rule["alert"])
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["annotations"]["summary"].strip()
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"])


def test_the_operators_alert_table_is_covered() -> None:
    """DESIGN.md: Redis down > 5 min, any refund/release failure, a migration rolled back,
    JSON parse errors > 10/min, job failure rate > 5%."""
    by_name = {rule["alert"]: rule for rule in _rules()}
    assert by_name["LumikuRedisDown"]["for"] == "5m"
    assert "lumiku_redis_up" in by_name["LumikuRedisDown"]["expr"]
    released = by_name["LumikuCreditReleaseFailed"]["expr"]
    for operation in ("release", "expire", "refund"):
        assert operation in released
    assert "lumiku_migrations_pending" in by_name["LumikuMigrationsPending"]["expr"]
    assert "> 10" in by_name["LumikuJsonParseErrors"]["expr"]
    assert "> 0.05" in by_name["LumikuJobFailureRate"]["expr"]


def test_every_metric_label_and_value_in_an_alert_is_one_the_app_exports() -> None:
    exported = _exported()
    known = {**KNOWN_VALUES, "operation": _ledger_operations()}
    assert {"release", "expire", "refund", "spend", "hold", "capture"} <= known["operation"]
    used = 0
    for rule in _rules():
        expr = rule["expr"]
        for name, matchers in _SELECTOR.findall(expr):
            used += 1
            assert name in exported, f"{rule['alert']}: {name} is not exported"
            for label, _op, value in _MATCHER.findall(matchers):
                assert label in exported[name], f"{rule['alert']}: {name} has no {label}"
                if label in known:
                    for alternative in value.split("|"):
                        assert alternative in known[label], f"{rule['alert']}: {label}={value}"
        for label in re.findall(r"\bby \(([^)]*)\)", expr):
            for name in (part.strip() for part in label.split(",")):
                assert name in _TARGET_LABELS or any(name in labels for labels in exported.values())
    assert used >= 7


def _promtool() -> str:
    found = shutil.which("promtool")
    require_service("promtool (Debian package prometheus; .ci/run installs it)", found is not None)
    assert found is not None
    return found


def test_promtool_accepts_the_rules() -> None:
    done = subprocess.run(
        [_promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in done.stdout


def test_each_alert_fires_on_its_series_and_not_on_healthy_ones() -> None:
    done = subprocess.run(
        [_promtool(), "test", "rules", str(RULE_TESTS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    assert tested == {rule["alert"] for rule in _rules()}
