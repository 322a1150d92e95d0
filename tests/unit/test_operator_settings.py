"""The operator's own configuration and command line: validated before anything starts."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from coviu_operator import cli
from coviu_operator.errors import SettingsError
from coviu_operator.settings import OperatorSettings, env_name, load_settings


def test_defaults_are_usable() -> None:
    settings = load_settings()
    assert settings.expiring_soon_window == timedelta(hours=24)
    assert settings.namespaces == ()
    assert settings.resources.requests == {"cpu": "50m", "memory": "64Mi"}


def test_values_come_from_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVIU_OPERATOR_NAMESPACES", "clinic-a, clinic-b,")
    monkeypatch.setenv("COVIU_OPERATOR_EXPIRING_SOON_WINDOW", "PT2H")
    monkeypatch.setenv("COVIU_OPERATOR_RESOURCES", '{"limits": {"memory": "512Mi"}}')
    monkeypatch.setenv("COVIU_OPERATOR_IMAGE", "registry.example/coviu-mcp-server:1.2.3")
    monkeypatch.setenv("COVIU_OPERATOR_FORWARDED_ALLOW_IPS", "10.0.0.0/8, *")
    settings = load_settings()
    assert settings.forwarded_allow_ips == ("10.0.0.0/8", "*")
    assert settings.namespaces == ("clinic-a", "clinic-b")
    assert settings.expiring_soon_window == timedelta(hours=2)
    assert settings.resources.limits == {"memory": "512Mi"} and settings.resources.requests is None
    assert settings.image == "registry.example/coviu-mcp-server:1.2.3"
    assert "COVIU_OPERATOR_IMAGE=registry.example/coviu-mcp-server:1.2.3" in settings.describe()


@pytest.mark.parametrize(("variable", "value"), [
    ("COVIU_OPERATOR_METRICS_PORT", "99999"),
    ("COVIU_OPERATOR_IMAGE_PULL_POLICY", "Sometimes"),
    ("COVIU_OPERATOR_RESOURCES", '{"limits": {"memory": "lots"}}'),
    ("COVIU_OPERATOR_RESYNC_INTERVAL", "0"),
    ("COVIU_OPERATOR_FORWARDED_ALLOW_IPS", "10.0.0.0/8,ingress.example"),
])
def test_bad_values_are_named(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_the_command_refuses_to_start_with_bad_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COVIU_OPERATOR_HEALTH_PORT", "0")
    assert cli.main(["--namespace", "clinic"]) == 2
    assert "COVIU_OPERATOR_HEALTH_PORT" in capsys.readouterr().err


def test_namespaces_and_cluster_wide_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["-n", "clinic", "-A"])
    assert "not allowed with" in capsys.readouterr().err


def test_settings_are_frozen() -> None:
    with pytest.raises(ValueError, match="frozen"):
        OperatorSettings().image = "other"


def test_per_event_success_lines_are_dropped_but_nothing_else() -> None:
    quiet = cli._QuietPokes()  # noqa: SLF001 - the filter is private to the command line

    def record(level: int, message: str) -> logging.LogRecord:
        return logging.LogRecord("kopf.objects", level, __file__, 1, message, None, None)

    assert not quiet.filter(record(logging.INFO, "Handler 'secret-changed' succeeded."))
    assert quiet.filter(record(logging.ERROR, "Handler 'secret-changed' failed."))
    assert quiet.filter(record(logging.INFO, "Created: created Secret clinic/demo-mcp-token"))


@pytest.mark.parametrize(("value", "seconds"), [("86400", 86400), ("90.5", 90.5), ("PT2H", 7200)])
def test_the_expiring_soon_window_takes_seconds_or_iso_8601(
    monkeypatch: pytest.MonkeyPatch, value: str, seconds: float
) -> None:
    monkeypatch.setenv("COVIU_OPERATOR_EXPIRING_SOON_WINDOW", value)
    assert load_settings().expiring_soon_window.total_seconds() == seconds


def test_each_setting_has_one_variable_name() -> None:
    assert env_name("metrics_port") == "COVIU_OPERATOR_METRICS_PORT"
    with pytest.raises(KeyError):
        env_name("metrics")
