"""No config-file or command-line mistake prints a secret: passwords, tokens and ntfy topics
are masked by one function (``letdown_detect.secrets``) in every message, on stdout and stderr."""

from __future__ import annotations

import socket

import pytest

from letdown_detect.cli import main
from letdown_detect.secrets import mask_secrets, mask_url, url_secrets

TOPIC = "tOpSeCrEt-topic-1234"
PASSWORD = "hunter2-pAsSwOrD"
SECRETS = (TOPIC, PASSWORD, "12345678", "SeC/rEt", "SeC@rEt")

CONFIG_MISTAKES = {
    "urls as a string": f'[notify]\nurls = "ntfy://127.0.0.1:9/{TOPIC}"\n',
    "urls with a number": f'[notify]\nurls = [5, "ntfy://127.0.0.1:9/{TOPIC}"]\n',
    "url missing a slash": f'[notify]\nurls = ["ntfy:/127.0.0.1:9/{TOPIC}"]\n',
    "no scheme at all": f'[notify]\nurls = ["127.0.0.1:9/{TOPIC}"]\n',
    "unknown scheme": f'[notify]\nurls = ["ntfi://127.0.0.1:9/{TOPIC}"]\n',
    "misspelt key": f'[notify]\nurl = "ntfy://127.0.0.1:9/{TOPIC}"\n',
    "misspelt section": f'[notfy]\nurls = ["ntfy://127.0.0.1:9/{TOPIC}"]\n',
    "numeric password": "[mqtt]\nurl = 'mqtt://127.0.0.1'\npassword = 12345678\n",
    "password as a list": f"[mqtt]\nurl = 'mqtt://127.0.0.1'\npassword = ['{PASSWORD}']\n",
    "bad port": f"[mqtt]\nurl = 'mqtt://ha:{PASSWORD}@127.0.0.1:99999'\n",
    "bad port, / in password": "[mqtt]\nurl = 'mqtt://ha:SeC/rEt@127.0.0.1:99999'\n",
    "bad port, @ in password": "[mqtt]\nurl = 'mqtt://ha:SeC@rEt@127.0.0.1:99999'\n",
    "wrong mqtt scheme": f"[mqtt]\nurl = 'http://ha:{PASSWORD}@127.0.0.1'\n",
    "url with a path": f"[mqtt]\nurl = 'mqtt://ha:{PASSWORD}@127.0.0.1:1883/x'\n",
    "broken TOML": f'[mqtt]\npassword = "{PASSWORD}\n',
}


#: Mistakes only ``config show`` finds (``notify test`` does not read [mood]).
SHOW_ONLY = {
    "bad mood key beside secrets": f'[notify]\nurls = ["ntfy://127.0.0.1:9/{TOPIC}"]\n'
    f"[mqtt]\npassword = '{PASSWORD}'\n[mood]\nprot = 8080\n",
}


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, text


@pytest.mark.parametrize("command", [["config", "show"], ["notify", "test", "--quiet"]])
@pytest.mark.parametrize("mistake", list(CONFIG_MISTAKES), ids=list(CONFIG_MISTAKES))
def test_no_config_mistake_prints_a_secret(
    mistake: str, command, tmp_path, monkeypatch, capsys, caplog
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG_MISTAKES[mistake])
    monkeypatch.setenv("LETDOWN_CONFIG", str(config))
    assert main(command) == 2
    out, err = capsys.readouterr()
    assert err.startswith("letdown: ") and str(config) in err
    _assert_clean(out + err + caplog.text)


@pytest.mark.parametrize("mistake", list(SHOW_ONLY), ids=list(SHOW_ONLY))
def test_config_show_mistakes_print_no_secret(mistake: str, tmp_path, monkeypatch, capsys) -> None:
    config = tmp_path / "config.toml"
    config.write_text(SHOW_ONLY[mistake])
    monkeypatch.setenv("LETDOWN_CONFIG", str(config))
    assert main(["config", "show"]) == 2
    out, err = capsys.readouterr()
    assert str(config) in err and "did you mean 'port'" in err
    _assert_clean(out + err)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CLI_MISTAKES = {
    "notify missing a slash": [
        "notify",
        "test",
        "--quiet",
        "--notify",
        f"ntfy:/127.0.0.1:9/{TOPIC}",
    ],
    "notify unknown scheme": ["notify", "test", "--quiet", "--notify", f"ntfi://h/{TOPIC}"],
    "notify no scheme": ["notify", "test", "--quiet", f"--notify=127.0.0.1:9/{TOPIC}"],
    "mqtt bad port": ["live", "--no-record", "--quiet", "--mqtt", f"mqtt://ha:{PASSWORD}@h:99999"],
    "mqtt / in password": ["live", "--no-record", "--quiet", "--mqtt", "mqtt://ha:SeC/rEt@h:1"],
    "mqtt @ in password": ["live", "--no-record", "--quiet", "--mqtt", "mqtt://ha:SeC@rEt@h:0x"],
    "mqtt wrong scheme": ["live", "--no-record", "--quiet", "--mqtt", f"tcp://ha:{PASSWORD}@h"],
}


@pytest.mark.parametrize("mistake", list(CLI_MISTAKES), ids=list(CLI_MISTAKES))
def test_no_command_line_mistake_prints_a_secret(mistake: str, capsys, caplog) -> None:
    assert main(CLI_MISTAKES[mistake]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("letdown: ")
    _assert_clean(out + err + caplog.text)


def test_config_show_and_notify_test_mask_the_ntfy_topic(tmp_path, monkeypatch, capsys) -> None:
    port = _closed_port()  # loopback, nothing listening: delivery fails, nothing leaves
    config = tmp_path / "config.toml"
    config.write_text(
        f'[notify]\nurls = ["ntfy://127.0.0.1:{port}/{TOPIC}"]\ndesktop = false\n'
        f"[mqtt]\nurl = 'mqtt://127.0.0.1'\npassword = '{PASSWORD}'\n"
    )
    monkeypatch.setenv("LETDOWN_CONFIG", str(config))
    assert main(["config", "show"]) == 0
    out, err = capsys.readouterr()
    assert f"ntfy://127.0.0.1:{port}/tO****" in out and "[mood]" in out
    _assert_clean(out + err)
    assert main(["notify", "test", "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"FAILED     ntfy://127.0.0.1:{port}/tO****")
    _assert_clean(out + err)


def test_a_password_in_mqtt_is_warned_about_and_the_environment_is_the_way(
    monkeypatch, capsys
) -> None:
    import argparse

    from letdown_detect.notify.live_options import MQTT_PASSWORD_ENV, sinks_from_options

    config = {
        "notify": {
            "urls": [],
            "desktop": False,
            "bell": False,
            "min_interval_s": 30.0,
            "summary": False,
            "include_mood": False,
        },
        "mqtt": {
            "url": None,
            "username": "ha",
            "password": "from-file",
            "tls": False,
            "ca_certs": None,
            "base_topic": "letdown",
            "discovery_prefix": "homeassistant",
        },
    }
    args = argparse.Namespace(notify_urls=[], quiet=True, mqtt=f"mqtt://ha:{PASSWORD}@127.0.0.1")
    (sink,) = sinks_from_options(args, config)
    err = capsys.readouterr().err
    assert "warning" in err and MQTT_PASSWORD_ENV in err and PASSWORD not in err
    monkeypatch.setenv(MQTT_PASSWORD_ENV, "from-env")
    args.mqtt = "mqtt://127.0.0.1"
    (sink,) = sinks_from_options(args, config)
    assert capsys.readouterr().err == ""
    assert sink.target.password == "from-env"
    monkeypatch.delenv(MQTT_PASSWORD_ENV)
    (sink,) = sinks_from_options(args, config)
    assert sink.target.password == "from-file"


def test_mask_functions() -> None:
    assert mask_url(f"ntfy://ntfy.sh/{TOPIC}") == "ntfy://ntfy.sh/tO****"  # masking only, no send
    assert url_secrets(f"mqtt://ha:{PASSWORD}@127.0.0.1:1883") == {PASSWORD}
    assert mask_secrets(f"got 'mqtt://ha:{PASSWORD}@h'", {PASSWORD}) == "got 'mqtt://ha:****@h'"
