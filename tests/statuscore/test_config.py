"""monitors.toml: what loads, and what is refused with file, monitor and key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from statuscore import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "monitors.toml"
    path.write_text(text)
    return path


def error_of(tmp_path, text: str, env=None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env=env or {})
    return caught.value


def test_examples_load():
    local = load_config(ROOT / "examples/local.toml", env={})
    assert [m.type for m in local.monitors] == ["http", "two_phase", "sse", "http"]
    sefaria = load_config(ROOT / "examples/sefaria.toml", env={"SLACK_WEBHOOK_URL": "https://hooks.slack.test/T/B/x"})
    names = [m.name for m in sefaria.monitors]
    assert names == ["sefaria.org", "Linker", "MCP Server", "Export Server"]
    linker = sefaria.monitors[1]
    assert linker.options.poll_url == "https://www.sefaria.org/api/async/{task_id}"
    assert linker.options.method == "POST" and linker.timeout == 20
    assert [c.text for c in sefaria.monitors[0].conditions] == ["status == 200", "json.he exists"]
    assert sefaria.status_page_url == "https://status.sefaria.org"
    assert [s.instance_name for s in sefaria.sinks] == ["slack"]
    assert sefaria.sinks[0].config.channel == "#sefaria-down"


def test_defaults_and_durations(tmp_path):
    config = load_config(
        write(
            tmp_path,
            """
[defaults]
interval = "2m"
timeout = "1500ms"
retries = 1
[[monitor]]
name = "A"
url = "https://a.test/"
[[monitor]]
name = "B"
url = "https://b.test/"
interval = 30
retry_delay = "1h30m"
[[monitor]]
name = "C"
url = "https://c.test/"
""",
        ),
        env={},
    )
    a, b, c = config.monitors
    assert (a.interval, a.timeout, a.retries, a.slug) == (120, 1.5, 1, "a")
    assert (b.interval, b.retry_delay, b.retries) == (30, 5400, 1)
    # C sets no policy key, after one that did: [defaults]' policy again, not B's
    assert (c.interval, c.retry_delay, c.timeout) == (120, a.retry_delay, 1.5)


def test_environment_overrides_defaults_and_fills_secrets(tmp_path):
    config = load_config(
        write(
            tmp_path,
            """
[defaults]
interval = "2m"
[[monitor]]
name = "A"
url = "https://a.test/"
headers = { Authorization = "Bearer ${API_TOKEN}" }
""",
        ),
        env={
            "HEALTH_CHECK_INTERVAL": "45",
            "HEALTH_CHECK_RETRIES": "5",
            "API_TOKEN": "s3cret",
            "SLACK_WEBHOOK_URL": "https://hooks.slack.test/x",
            "SLACK_CHANNEL": "#ops",
            "STATUS_PAGE_URL": "https://status.test",
        },
    )
    monitor = config.monitors[0]
    assert (monitor.interval, monitor.retries) == (45, 5)
    assert monitor.options.headers == {"Authorization": "Bearer s3cret"}
    assert config.sinks[0].config.channel == "#ops"
    assert config.status_page_url == "https://status.test"
    assert "hooks.slack.test" not in repr(config.sinks[0].config)


@pytest.mark.parametrize("written", [r"\u0024{API_TOKEN}", r"\U00000024{API_TOKEN}", r"$\u007bAPI_TOKEN}"])
def test_a_reference_written_with_escapes_is_filled_in_too(tmp_path, written):
    """The loader skips the walk for `${NAME}` when the file has no "$": a "$" written as
    a TOML escape must still count."""
    config = load_config(
        write(
            tmp_path,
            f"""
[[monitor]]
name = "A"
url = "https://a.test/"
headers = {{ Authorization = "Bearer {written}" }}
""",
        ),
        env={"API_TOKEN": "s3cret"},
    )
    assert config.monitors[0].options.headers == {"Authorization": "Bearer s3cret"}


@pytest.mark.parametrize(
    "body, monitor, key, message",
    [
        (
            '[[monitor]]\nname = "A"\nurl = "https://a.test/"\ncolour = "red"\n',
            "A",
            "colour",
            "unknown key for type 'http'",
        ),
        (
            '[[monitor]]\nname = "A"\nurl = "https://a.test/"\ntimeout = "ten seconds"\n',
            "A",
            "timeout",
            "expected a duration",
        ),
        (
            '[[monitor]]\nname = "A"\nurl = "https://a.test/"\nretries = "3"\n',
            "A",
            "retries",
            "expected a whole number",
        ),
        ('[[monitor]]\nname = "A"\nurl = "ftp://a.test/"\n', "A", "url", "expected an http:// or https:// URL"),
        ('[[monitor]]\nname = "A"\n', "A", "url", "required key is missing"),
        (
            '[[monitor]]\nname = "A"\ntype = "gopher"\nurl = "https://a.test/"\n',
            "A",
            "type",
            "unknown check type 'gopher' (installed: dns, domain_expiry, grpc, http, icmp, ",
        ),
        (
            '[[monitor]]\nname = "A"\nurl = "https://a.test/"\n[[monitor]]\nname = "A"\nurl = "https://b.test/"\n',
            "A",
            "name",
            "duplicate monitor name",
        ),
        (
            '[[monitor]]\nname = "A"\nurl = "https://a.test/"\nconditions = ["status == 200", "latency < 2"]\n',
            "A",
            "conditions[1]",
            "column 11: latency compares with a duration",
        ),
        (
            '[[monitor]]\nname = "L"\ntype = "two_phase"\nurl = "https://a.test/"\npoll_url = "https://a.test/t"\n',
            "L",
            "poll_url",
            "must contain {task_id}",
        ),
        (
            '[[monitor]]\nname = "A"\nurl = "https://a.test/"\nretry_backoff = "random"\n',
            "A",
            "retry_backoff",
            "expected one of 'fixed', 'exponential'",
        ),
        (
            '[[monitor]]\nname = "A"\nurl = "https://a.test/"\nbody = "x"\njson = {a = 1}\n',
            "A",
            "json",
            "either body or json",
        ),
        (
            '[[monitor]]\nname = "A"\nurl = "https://a.test/${MISSING}"\n',
            "A",
            "url",
            "environment variable MISSING is not set",
        ),
        (
            '[[monitor]]\nname = "A"\nurl = "https://a.test/"\nexpected_status = [200, 999]\n',
            "A",
            "expected_status",
            "999 is not an HTTP status code",
        ),
        ('[defaults]\nurl = "https://a.test/"\n', None, "defaults.url", "not allowed in [defaults]"),
        ("monitors = []\n", None, "monitors", "unknown top-level key"),
        ('[[alert]]\ntype = "pager"\n', None, "alert[0].type", "unknown alert type 'pager'"),
        ('[[alert]]\ntype = "webhook"\n', None, "alert[0].url", "required key is missing"),
        (
            '[[alert]]\ntype = "slack"\nwebhook_url = "hooks.slack.test/x"\n',
            None,
            "alert[0].webhook_url",
            "expected the https:// URL of a Slack incoming webhook",
        ),
    ],
)
def test_errors_name_file_monitor_and_key(tmp_path, body, monitor, key, message):
    error = error_of(tmp_path, body)
    assert error.file == str(tmp_path / "monitors.toml")
    assert error.monitor == monitor
    assert error.key == key
    assert message in error.message
    assert str(error).startswith(str(tmp_path / "monitors.toml"))


def test_a_slack_sink_without_its_webhook_url_is_off_with_a_warning_not_an_error(tmp_path):
    """Alerts are optional: the monitors run without them (a first deployment, a laptop)."""
    for table in (
        '[[alert]]\ntype = "slack"\n',
        '[[alert]]\ntype = "slack"\nwebhook_url = "${SLACK_WEBHOOK_URL}"\n',
        '[[alert]]\ntype = "slack"\nwebhook_url = "${SLACK_WEBHOOK_URL:-}"\n',
    ):
        config = load_config(write(tmp_path, table + '[[monitor]]\nname = "A"\nurl = "https://a.test/"\n'), env={})
        assert config.sinks == () and len(config.monitors) == 1
        assert config.warnings[0].startswith("alert sink 'slack' is off: ")
        assert "SLACK_WEBHOOK_URL" in config.warnings[0]


def test_toml_syntax_error_names_line(tmp_path):
    error = error_of(tmp_path, '[[monitor]]\nname = "A\n')
    assert "TOML syntax error" in error.message and "line 2" in error.message


def test_missing_file():
    with pytest.raises(ConfigError, match="file not found"):
        load_config("/nonexistent/monitors.toml", env={})


def test_disabled_monitors_are_skipped(tmp_path):
    config = load_config(write(tmp_path, '[[monitor]]\nname = "A"\nurl = "https://a.test/"\nenabled = false\n'), env={})
    assert config.monitors == ()
