"""`statusweb-admin import --from uptime-kuma | gatus | statuspage`, run as someone moving
over runs it, on sample files in those tools' documented shapes (tests/data/importers):
a monitors.toml that loads (and that a runner's sync takes up, showing the imported
services), the secrets in an env file of their own and nowhere else, what could not be
mapped named, the pages, incidents and maintenance in the database and told to no
subscriber, and bad files refused with what is wrong."""

from __future__ import annotations

import json
import stat
import threading
import tomllib
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from statuscore import load_config
from statusweb.cli import main as admin_main
from statusweb.models import Incident, Maintenance, Page, Service, get_session_factory
from tests.statusweb.pages import sync_monitors_toml
from tests.statusweb.transfer.seed import write_ini

DATA = Path(__file__).resolve().parents[2] / "data" / "importers"
KUMA_SECRETS = (
    "kumaSlackSecret",
    "kumaDiscordToken",
    "kumaMailPassword",
    "kumaTelegramToken",
    "kumaPagerDutyKey",
    "kumaHeaderToken",
    "kumaPushToken",
    "kumaDbPassword",
)
GATUS_SECRETS = ("gatusSlackSecret", "gatusDiscordToken", "gatusMailPassword", "gatusHeaderToken", "gatus-push-token")


def env_of(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def run_import(ini: str, source: str, file: str, monitors: Path, capsys) -> tuple[int, str]:
    code = admin_main(["import", ini, file, "--from", source, "--monitors", str(monitors)])
    out, err = capsys.readouterr()
    return code, out + err


def rows(engine, model, *order):
    with get_session_factory(engine)() as session:
        return session.scalars(select(model).order_by(*order).options(selectinload("*"))).unique().all()


def test_an_uptime_kuma_backup_becomes_monitors_sinks_pages_and_incidents(engine, db_url, tmp_path, capsys):
    ini, monitors = write_ini(tmp_path, db_url), tmp_path / "kuma.toml"
    code, said = run_import(ini, "uptime-kuma", str(DATA / "uptime-kuma-backup.json"), monitors, capsys)
    assert code == 0, said
    env_file = tmp_path / "kuma.toml.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    env = env_of(env_file)
    text = monitors.read_text()
    for secret in KUMA_SECRETS:  # in the env file, never in monitors.toml or the output
        assert secret not in text and secret not in said
        assert any(secret in value for value in env.values())
    assert "DATABASE_URL" not in env and "KUMA_DATABASE_URL" in env  # never shadows the runner's own
    assert env["KUMA_DISCORD_URL"] == "discord://1234567890/kumaDiscordToken"
    assert env["KUMA_TELEGRAM_URL"] == "tgram://123456:kumaTelegramToken/-100200300"

    config = load_config(monitors, env=env)
    by_slug = {m.slug: m for m in config.monitors}
    assert sorted(by_slug) == [
        "database",
        "dns",
        "export-server",
        "gateway-ping",
        "linker-health",
        "nightly-backup",
        "staging",
        "texts-api",
        "website",
    ]  # old-blog is disabled
    tables = {t["slug"]: t for t in tomllib.loads(text)["monitor"]}
    assert (
        tables["website"].items()
        >= {
            "url": "https://www.sefaria.org/",
            "retries": 2,
            "retry_delay": "20s",
            "reminder_every": "600s",
            "group": "Sefaria",
            "page": "sefaria",
            "alerts": ["kuma-mail-the-team", "kuma-ops-slack"],
        }.items()
    )
    assert tables["texts-api"]["keyword"] == "Genesis" and 304 in tables["texts-api"]["expected_status"]
    assert tables["linker-health"]["json_query"] == "$.status" and tables["linker-health"]["expected"] == "ok"
    assert tables["linker-health"]["headers"]["Authorization"] == "${KUMA_LINKER_HEALTH_AUTHORIZATION}"
    assert (tables["export-server"]["type"], tables["export-server"]["port"], tables["export-server"]["page"]) == (
        "tcp",
        443,
        "partners",
    )
    assert tables["gateway-ping"]["type"] == "icmp" and tables["dns"]["record"] == "MX"
    assert (
        tables["nightly-backup"].items() >= {"type": "push", "expect_every": "86400s", "alerts": ["kuma-pager"]}.items()
    )
    assert tables["old-blog"]["enabled"] is False
    assert (
        tables["staging"].items()
        >= {"verify_tls": False, "follow_redirects": False, "method": "HEAD", "timeout": "5s"}.items()
    )
    assert tables["gateway-ping"]["notify"] is False  # Kuma told nobody about it
    assert [s.instance_name for s in config.sinks] == [
        "kuma-ops-slack",
        "kuma-discord",
        "kuma-mail-the-team",
        "kuma-telegram",
        "kuma-pager",
    ]
    for line in (
        "notification 'LINE' (line)",
        "monitor 'Docker worker' (docker)",
        "monitor 'Inverted' (http): upside-down",
        "maintenance 'Weekly restart' (recurring-weekday)",
    ):
        assert f"not brought over: {line}" in said
    assert "note: monitor 'Linker health': it is on several status pages" in said

    pages = {p.slug: p.name for p in rows(engine, Page, Page.id)}
    assert pages["sefaria"] == "Sefaria Status" and pages["partners"] == "Partner API"
    services = {s.slug: s for s in rows(engine, Service, Service.id)}
    assert all(s.hidden for s in services.values())  # until a runner reads a monitors.toml with them
    (incident,) = rows(engine, Incident)
    assert (incident.title, incident.impact, incident.page_id) == (
        "Slow searches",
        "minor",
        services["website"].page_id,
    )
    assert incident.updates[0].body == "Searches take **seconds**." and incident.updates[0].imported
    (window,) = rows(engine, Maintenance)
    assert window.title == "Database upgrade" and window.all_services and window.status == "completed"

    sync_monitors_toml(engine, monitors, text, env=env)  # the runner starts on the new file
    shown = {s.slug for s in rows(engine, Service, Service.id) if not s.hidden}
    assert shown == set(by_slug)

    code, said = run_import(ini, "uptime-kuma", str(DATA / "uptime-kuma-backup.json"), monitors, capsys)
    assert code == 2 and f"{monitors} exists already" in said  # never over a file
    code, said = run_import(ini, "uptime-kuma", str(DATA / "uptime-kuma-backup.json"), tmp_path / "again.toml", capsys)
    assert code == 0 and "imported 0 rows" in said  # the database part is idempotent


def test_a_gatus_configuration_keeps_its_conditions_alerts_and_thresholds(engine, db_url, tmp_path, capsys):
    ini, monitors = write_ini(tmp_path, db_url), tmp_path / "gatus.toml"
    code, said = run_import(ini, "gatus", str(DATA / "gatus-config.yaml"), monitors, capsys)
    assert code == 0, said
    env = env_of(tmp_path / "gatus.toml.env")
    text = monitors.read_text()
    for secret in GATUS_SECRETS:
        assert secret not in text and secret not in said
    config = load_config(monitors, env=env | {"PAGERDUTY_KEY": "from-the-environment"})
    tables = {t["slug"]: t for t in tomllib.loads(text)["monitor"]}
    assert tables["website"]["conditions"] == ["status == 200", "latency < 800ms"]
    assert (tables["website"]["failure_threshold"], tables["website"]["success_threshold"]) == (2, 3)
    assert tables["website"]["retries"] == 0 and tables["website"]["interval"] == "30s"
    assert tables["texts-api"]["conditions"] == [
        "status in [200, 304]",
        "json.he[0] exists",
        'json.ref == "Genesis 1:1"',
    ]
    assert tables["texts-api"]["alerts"] == ["gatus-pagerduty", "gatus-slack"]
    assert (
        tables["linker"].items()
        >= {
            "method": "POST",
            "verify_tls": False,
            "timeout": "20s",
            "conditions": ["status == 202", 'body contains "task_id"'],
        }.items()
    )
    assert sorted(tables["linker"]["alerts"]) == ["gatus-custom", "gatus-discord", "gatus-email"]
    assert (tables["export-port"]["type"], tables["export-port"]["host"], tables["export-port"]["port"]) == (
        "tcp",
        "export.sefaria.org",
        443,
    )
    assert "conditions" not in tables["export-port"]  # [CONNECTED] is what a tcp check is
    assert (
        tables["mx-records"].items()
        >= {
            "type": "dns",
            "query": "sefaria.org",
            "record": "MX",
            "expect_rcode": "NOERROR",
        }.items()
    )
    assert tables["nightly-export"].items() >= {"type": "push", "expect_every": "24h", "group": "jobs"}.items()
    assert tables["paused"]["enabled"] is False
    assert {m.slug for m in config.monitors} == set(tables) - {"paused"}
    assert 'routing_key = "${PAGERDUTY_KEY}"' in text and "note: ${PAGERDUTY_KEY}: kept from the environment" in said
    for line in ("alerting provider 'matrix'", "endpoint 'websocket'", "external endpoint 'short-token'"):
        assert f"not brought over: {line}" in said
    assert "condition '[CERTIFICATE_EXPIRATION] > 48h' has no counterpart" in said
    assert "condition 'len([BODY].versions) > 0' has no counterpart" in said
    groups = [g["name"] for g in tomllib.loads(text)["group"]]
    assert groups == ["core", "infrastructure", "jobs"]


class StatuspageSite:
    """A Statuspage page's public API on 127.0.0.1: /api/v2/<document>.json from
    tests/data/importers/statuspage, and /broken/ for a page that is not one."""

    def __init__(self, root: Path) -> None:
        (root / "good" / "api" / "v2").mkdir(parents=True)
        for document in (DATA / "statuspage").glob("*.json"):
            (root / "good" / "api" / "v2" / document.name).write_bytes(document.read_bytes())
        (root / "html" / "api" / "v2").mkdir(parents=True)
        (root / "html" / "api" / "v2" / "summary.json").write_text("<html>Maintenance</html>")
        handler = partial(SimpleHTTPRequestHandler, directory=str(root))
        handler.log_message = lambda *args: None  # type: ignore[method-assign]
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def statuspage_site(tmp_path_factory):
    site = StatuspageSite(tmp_path_factory.mktemp("site"))
    yield site
    site.close()


@pytest.mark.parametrize("how", ["address", "file"])
def test_a_statuspage_page_brings_components_incidents_postmortems_and_maintenance(
    engine, db_url, tmp_path, capsys, statuspage_site, how
):
    ini, monitors = write_ini(tmp_path, db_url), tmp_path / "statuspage.toml"
    source = f"{statuspage_site.url}/good" if how == "address" else str(DATA / "statuspage-export.json")
    code, said = run_import(ini, "statuspage", source, monitors, capsys)
    assert code == 0, said
    if how == "address":
        assert f"read {statuspage_site.url}/good/api/v2/incidents.json" in said
    text = monitors.read_text()
    tables = tomllib.loads(text)
    assert [(m["name"], m["slug"], m.get("group")) for m in tables["monitor"]] == [
        ("API (Platform)", "api-platform", "Platform"),
        ("Dashboard", "dashboard", "Platform"),
        ("API (Partners)", "api-partners", "Partners"),
        ("Webhooks", "webhooks", None),
    ]
    assert all(m["enabled"] is False for m in tables["monitor"])
    assert [g["name"] for g in tables["group"]] == ["Platform", "Partners"]
    load_config(monitors, env={})
    assert "not brought over: incident 'Broken dates': key 'created_at'" in said
    assert "each is a disabled [[monitor]]" in said

    incidents = {i.title: i for i in rows(engine, Incident, Incident.id)}
    assert sorted(incidents) == ["API errors", "Dashboard is slow"]
    errors = incidents["API errors"]
    assert (errors.impact, errors.status) == ("major", "resolved")
    assert errors.resolved_at.isoformat() == "2026-01-05T16:30:00+00:00"
    assert errors.postmortem.startswith("## What happened") and errors.postmortem_published_at is not None
    slugs = {s.id: s.slug for s in rows(engine, Service, Service.id)}
    assert {slugs[a.service_id]: a.component_status for a in errors.affected} == {
        "api-platform": "major_outage",
        "api-partners": "partial_outage",
    }
    assert [u.status for u in sorted(errors.updates, key=lambda u: u.created_at)] == [
        "investigating",
        "resolved",
        "postmortem",
    ]
    slow = incidents["Dashboard is slow"]
    assert slow.status == "monitoring" and slow.created_at.isoformat() == "2026-02-11T14:00:00+00:00"  # -05:00 in UTC
    assert {slugs[a.service_id]: a.component_status for a in slow.affected} == {"dashboard": "degraded_performance"}
    assert all(u.imported for i in incidents.values() for u in i.updates)
    windows = {w.title: w for w in rows(engine, Maintenance, Maintenance.id)}
    assert windows["Database upgrade"].status == "completed" and not windows["Database upgrade"].all_services
    assert [slugs[a.service_id] for a in windows["Database upgrade"].affected] == ["api-platform"]
    assert windows["Network work"].all_services and windows["Network work"].status == "scheduled"


def test_a_page_that_is_not_a_statuspage_or_not_there_is_refused(engine, db_url, tmp_path, capsys, statuspage_site):
    ini = write_ini(tmp_path, db_url)
    code, said = run_import(ini, "statuspage", f"{statuspage_site.url}/html", tmp_path / "a.toml", capsys)
    assert code == 2 and "is not JSON: is" in said and "a Statuspage page?" in said
    code, said = run_import(ini, "statuspage", f"{statuspage_site.url}/nothing", tmp_path / "b.toml", capsys)
    assert code == 2 and "HTTP 404; going on without it" in said and "is not a Statuspage document" in said
    code, said = run_import(ini, "statuspage", "http://127.0.0.1:9", tmp_path / "c.toml", capsys)
    assert code == 2 and "cannot read http://127.0.0.1:9/api/v2/summary.json: ConnectionError" in said
    assert not list(tmp_path.glob("*.toml"))


@pytest.mark.parametrize(
    ("source", "content", "why"),
    [
        ("uptime-kuma", b"{not json", "is not JSON (line 1, column 2"),
        ("uptime-kuma", b'{"version": "1.23"}', "is not an Uptime Kuma backup"),
        ("uptime-kuma", b"[1, 2]", "is not an Uptime Kuma backup"),
        ("uptime-kuma", b"\xff\xfe", "is not UTF-8"),
        ("gatus", b"endpoints:\n  - name: a\n   url: b\n", "is not YAML at line 3"),
        ("gatus", b"just text", "is not a Gatus configuration"),
        ("gatus", b"endpoints: 7", '"endpoints" must be a list'),
        ("gatus", b"metrics: true", "it has no endpoints"),
        ("statuspage", b'{"page": {}}', "is not a Statuspage document"),
    ],
)
def test_a_file_of_the_wrong_kind_is_refused_saying_what_it_is_not(
    engine, db_url, tmp_path, capsys, source, content, why
):
    path = tmp_path / "input"
    path.write_bytes(content)
    code, said = run_import(write_ini(tmp_path, db_url), source, str(path), tmp_path / "out.toml", capsys)
    assert code == 2 and why in said and "Traceback" not in said
    assert not (tmp_path / "out.toml").exists()


def test_hostile_entries_in_a_kuma_backup_are_named_and_the_rest_come_over(engine, db_url, tmp_path, capsys):
    backup = json.loads((DATA / "uptime-kuma-backup.json").read_text())
    good = backup["monitorList"][1]
    backup["monitorList"] = [
        good,
        good | {"id": 90, "name": "Line\r\nBreak", "url": "https://a.example/"},
        good | {"id": 91, "name": "x" * 5000, "url": "https://b.example/"},
        good | {"id": 92, "name": "Bad codes", "accepted_statuscodes": ["ok"]},
        good | {"id": 93, "name": "Bad headers", "headers": "[1"},
        good | {"id": 94, "name": "No URL", "url": ""},
        good | {"id": 95, "name": "Weird interval", "interval": -5},
        good | {"id": 96, "name": "שלום", "url": "https://c.example/"},
        good | {"id": 97, "name": "Not the web", "url": "ftp://files.example.org/"},
        "not a monitor",
        7,
    ]
    backup["notificationList"].append({"id": 99, "name": "Broken", "config": "{not json"})
    backup["statusPageList"][0]["incident"]["createdDate"] = "yesterday"
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(backup))
    monitors = tmp_path / "hostile.toml"
    code, said = run_import(write_ini(tmp_path, db_url), "uptime-kuma", str(path), monitors, capsys)
    assert code == 0, said
    assert "not brought over: monitor 'Bad codes' (http): accepted status codes" in said
    assert "not brought over: monitor 'Bad headers' (http): its headers are not a JSON object" in said
    assert "not brought over: monitor 'No URL' (http): it has no URL" in said
    assert "not brought over: notification 'Broken'" in said
    assert "not brought over: incident 'Slow searches': its createdDate is not a time" in said
    assert "not brought over: monitor 'Not the web': this install refuses it: expected an http:// or https://" in said
    names = {m.name for m in load_config(monitors, env=env_of(tmp_path / "hostile.toml.env")).monitors}
    assert {"Website", "שלום", "Line Break", "x" * 200, "Weird interval"} == names
