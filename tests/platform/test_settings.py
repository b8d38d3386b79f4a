"""One table of settings: each has a default and a parser, so each can be set from the environment."""
import json

from flask import Flask

from config import SETTINGS, flag, host_ports, load_config

TEXT_FOR = {int: "7", flag: "off", json.loads: '{"key": "value"}', str: "from-the-environment",
            host_ports: "10.0.0.1:26379, 10.0.0.2:26379"}


def _loaded(instance_path, test_config=None) -> Flask:
    app = Flask("settings-test", instance_path=str(instance_path), instance_relative_config=True)
    load_config(app, test_config)
    return app


def test_every_setting_can_be_set_from_the_environment(monkeypatch, tmp_path):
    for name, setting in SETTINGS.items():
        monkeypatch.setenv(name, TEXT_FOR[setting.parse])
    app = _loaded(tmp_path)
    assert set(app.extensions["settings"].values()) == {"environment"}
    assert app.config["POINTS_PER_YUAN"] == 7 and app.config["RATE_LIMITS_ENABLED"] is False
    assert app.config["WECHAT_TEMPLATES"] == {"key": "value"}
    assert app.config["SERVICE_REPLY"] == "from-the-environment"
    assert app.config["REDIS_SENTINELS"] == [("10.0.0.1", 26379), ("10.0.0.2", 26379)]


def test_the_environment_wins_over_the_instance_file_over_the_defaults(monkeypatch, tmp_path):
    (tmp_path / "config.py").write_text("TIMEZONE = 'UTC'\nPROXY_HOPS = 2\n")
    monkeypatch.setenv("PROXY_HOPS", "1")
    monkeypatch.setenv("MALL_CONFIRM_DAYS", "")  # empty: sets nothing
    app = _loaded(tmp_path)
    sources = app.extensions["settings"]
    assert (app.config["TIMEZONE"], sources["TIMEZONE"]) == ("UTC", "instance")
    assert (app.config["PROXY_HOPS"], sources["PROXY_HOPS"]) == (1, "environment")
    assert (app.config["MALL_CONFIRM_DAYS"], sources["MALL_CONFIRM_DAYS"]) == (7, "default")


def test_the_settings_command_masks_secrets(app, monkeypatch):
    monkeypatch.setitem(app.config, "DATABASE_URL", "postgresql://loyalty:hunter2@db/loyalty")
    shown = app.test_cli_runner().invoke(args=["settings"]).output
    assert "hunter2" not in shown and app.config["WECHAT_PAY_KEY"] not in shown
    assert "postgresql://loyalty:****@db/loyalty" in shown
    assert app.test_cli_runner().invoke(args=["settings", "--markdown"]).output.count("\n| `") == len(SETTINGS)
