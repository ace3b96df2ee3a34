"""The config file: defaults, checks with one-sentence errors, and how it merges with options."""

from __future__ import annotations

import argparse

import pytest

from letdown_detect import cli
from letdown_detect.config import config_path, load_config
from letdown_detect.errors import ConfigError
from letdown_detect.notify.apprise_sink import NotifySink
from letdown_detect.notify.live_options import add_live_options, sinks_from_options
from letdown_detect.notify.mqtt_sink import MqttSink


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    """A config file path in a temporary folder, named by LETDOWN_CONFIG."""
    path = tmp_path / "config.toml"
    monkeypatch.setenv("LETDOWN_CONFIG", str(path))
    return path


def test_missing_file_gives_defaults(config_file):
    config = load_config()
    assert config_path() == config_file
    assert config["notify"] == {
        "urls": [],
        "min_interval_s": 30.0,
        "summary": False,
        "include_mood": False,
        "include_link": False,
        "desktop": True,
        "bell": True,
    }
    assert config["mqtt"]["url"] is None
    assert config["mqtt"]["base_topic"] == "letdown"
    assert config["mqtt"]["discovery_prefix"] == "homeassistant"


def test_settings_are_read_and_other_sections_pass_through(config_file):
    config_file.write_text(
        '[notify]\nurls = ["ntfy://127.0.0.1:8080/pump", "json://127.0.0.1:9000/hook"]\n'
        "min_interval_s = 45\nsummary = true\n\n"
        '[mqtt]\nurl = "mqtt://127.0.0.1:1884"\nusername = "ha"\npassword = "pw"\n\n'
        '[mood]\nexpiry_s = 300\nanything = "kept"\n'
    )
    config = load_config()
    assert config["notify"]["urls"] == ["ntfy://127.0.0.1:8080/pump", "json://127.0.0.1:9000/hook"]
    assert config["notify"]["min_interval_s"] == 45.0
    assert config["notify"]["summary"] is True
    assert config["notify"]["bell"] is True
    assert config["mqtt"]["username"] == "ha"
    assert config["mood"] == {"expiry_s": 300, "anything": "kept"}


BAD_CONFIGS = [
    ("[notify]\nmin_interval = 10\n", "notify.min_interval", ["did you mean 'min_interval_s'"]),
    ("[notify]\nmin_interval_s = '30'\n", "notify.min_interval_s", ["a number of seconds"]),
    ("[notify]\nmin_interval_s = -1\n", "notify.min_interval_s", [">= 0"]),
    ("[notify]\nbell = 1\n", "notify.bell", ["true or false"]),
    ("[notify]\nsummary = true\nurls = 'ntfy://x/y'\n", "notify.urls", ["a list of apprise URLs"]),
    (
        '[notify]\nurls = ["json://127.0.0.1/ok", "ntfyy://127.0.0.1/pump"]\n',
        "notify.urls[1]",
        ["unknown notification scheme 'ntfyy://'", "did you mean 'ntfy://'"],
    ),
    ('[notify]\nurls = ["127.0.0.1:8080/pump"]\n', "notify.urls[0]", ["no SCHEME:// part"]),
    ('[notify]\nurls = ["pover://tooshort"]\n', "notify.urls[0]", ["missing a part"]),
    ('[mqtt]\nurl = "http://127.0.0.1:1883"\n', "mqtt.url", ["mqtt://HOST[:PORT]"]),
    ('[mqtt]\nurl = "mqtt://127.0.0.1:99999"\n', "mqtt.url", ["port from 1 to 65535"]),
    ("[mqtt]\nbase_topic = 'letdown/#'\n", "mqtt.base_topic", ["no '#'"]),
    ("[mqtt]\nca_certs = '/nonexistent/ca.pem'\n", "mqtt.ca_certs", ["existing file"]),
    ("[mqtt]\nhost = 'x'\n", "mqtt.host", ["known keys: url"]),
]


@pytest.mark.parametrize(("text", "key", "fragments"), BAD_CONFIGS)
def test_bad_setting_is_one_sentence_naming_file_and_key(config_file, text, key, fragments):
    config_file.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config()
    message = str(info.value)
    assert info.value.key == key.split("[")[0] or info.value.key == key
    assert message.startswith(f"{config_file}: {key}")
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_unknown_scheme_message_does_not_echo_the_token(config_file):
    config_file.write_text('[notify]\nurls = ["pushover://secretuser@secrettoken"]\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert "secret" not in str(info.value)
    assert "did you mean" in str(info.value)


def test_mqtt_password_is_not_echoed_in_errors(config_file):
    config_file.write_text('[mqtt]\nurl = "http://ha:hunter2@127.0.0.1"\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert "hunter2" not in str(info.value)
    assert "ha:****@" in str(info.value)


def test_unparsable_toml_names_the_line(config_file):
    config_file.write_text("[notify]\nurls = [1,,]\nbell = true\n")
    with pytest.raises(ConfigError, match=r"not valid TOML .*line 2"):
        load_config()


@pytest.mark.parametrize("kind", ["directory", "not utf-8"])
def test_unreadable_file_says_so(config_file, kind):
    if kind == "directory":
        config_file.mkdir()
    else:
        config_file.write_bytes(b"[notify]\nurls = ['\xff\xfe']\n")
    with pytest.raises(ConfigError, match="cannot read the config file") as info:
        load_config()
    assert "LETDOWN_CONFIG" in str(info.value)


def test_cli_prints_path_and_masked_settings(config_file, capsys):
    config_file.write_text(
        '[notify]\nurls = ["json://me:hunter2@127.0.0.1:9000/hook"]\n'
        '[mqtt]\nurl = "mqtt://ha:topsecret@127.0.0.1:1884"\npassword = "alsosecret"\n'
    )
    assert cli.main(["config", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(config_file)
    assert cli.main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and "topsecret" not in out and "alsosecret" not in out
    assert 'urls = ["json://me:****@127.0.0.1:9000/hook"]' in out
    assert 'url = "mqtt://ha@127.0.0.1:1884"' in out
    assert "min_interval_s = 30.0" in out


def test_cli_bad_config_is_one_line_and_exit_2(config_file, capsys):
    config_file.write_text("[notify]\ndesktp = false\n")
    assert cli.main(["config", "show"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("letdown: ") and "notify.desktp" in err and "'desktop'" in err


def _options(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_live_options(parser)
    return parser.parse_args(argv)


def test_options_add_to_the_config_file(config_file):
    config_file.write_text(
        '[notify]\nurls = ["json://127.0.0.1:9000/a"]\nmin_interval_s = 5\nsummary = true\n'
        '[mqtt]\nurl = "mqtt://127.0.0.1:1884"\nusername = "ha"\npassword = "pw"\n'
        'base_topic = "pump"\n'
    )
    notify, mqtt = sinks_from_options(
        _options(["--notify", "ntfy://127.0.0.1:9001/b", "--quiet", "--mqtt", "mqtt://10.0.0.5"])
    )
    assert isinstance(notify, NotifySink) and isinstance(mqtt, MqttSink)
    assert notify.urls == ("json://127.0.0.1:9000/a", "ntfy://127.0.0.1:9001/b")
    assert notify.min_interval_s == 5.0 and notify.summary is True
    assert notify.bell is None
    assert (mqtt.target.host, mqtt.target.port) == ("10.0.0.5", 1883)
    assert (mqtt.target.username, mqtt.target.password) == ("ha", "pw")
    assert mqtt.state_topic == "pump/state"


def test_quiet_without_targets_gives_no_sinks(config_file):
    assert sinks_from_options(_options(["--quiet"])) == []


def test_bad_notify_option_names_the_option(config_file):
    with pytest.raises(ConfigError, match=r"^--notify: unknown notification scheme 'pushovr://'"):
        sinks_from_options(_options(["--notify", "pushovr://u@t"]))


def test_mqtt_tls_setting_switches_the_default_port(config_file):
    config_file.write_text('[mqtt]\nurl = "mqtt://broker.lan"\ntls = true\n')
    (mqtt,) = sinks_from_options(_options(["--quiet"]))
    assert (mqtt.target.tls, mqtt.target.port) == (True, 8883)
