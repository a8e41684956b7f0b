"""deploy/compose.yaml as Coolify or `docker compose` runs it, checked without a Docker
engine (issue 35, points 1 and 4): both files follow the Compose specification (its
JSON schema, tests/data/compose-spec.json), no secret is written in them, .env.example
lists every variable with a comment, and the services' own commands, with the
environment compose would give them, run in order against the local PostgreSQL:
migrate to completion, then the web service and two runners, which share the checks
and serve the page."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.targets import free_port
from tests.test_deployment import clean_env

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE, WITH_POSTGRES, ENV_EXAMPLE = DEPLOY / "compose.yaml", DEPLOY / "compose.postgres.yaml", DEPLOY / ".env.example"
WITH_BACKUPS = DEPLOY / "compose.backup.yaml"
FILES = (COMPOSE, WITH_POSTGRES, WITH_BACKUPS)
BIN = Path(sys.executable).parent
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
COMPOSE_ONLY = {
    "POSTGRES_PASSWORD",
    "STATUSWEB_IMAGE",
    "STATUSWEB_PORT",
    "STATUSWEB_RUNNERS",
    "BACKUP_KEEP",
    "BACKUP_EVERY_SECONDS",
}  # read by compose, not the app
SET_BY_COMPOSE = {"STATUSWEB_RUNNER", "PORT"}  # each service's own, written in the file
DEVELOPMENT_ONLY = {"DEMO_PORT"}  # `make run`'s demo targets: nothing a deployment sets


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}."""

    def one(match: re.Match) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        found = env.get(name)
        if operator == ":-":
            return found or argument
        if operator == "-":
            return argument if found is None else found
        if operator == ":?" and not found:
            raise AssertionError(f"compose would refuse to start: {name}: {argument}")
        return found or ""

    return _VARIABLE.sub(one, value)


def read_env_example() -> dict[str, str]:
    pairs = [line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if line and not line.startswith("#")]
    return {name: value for name, value in pairs}


def test_both_files_follow_the_compose_specification():
    schema = json.loads((ROOT / "tests" / "data" / "compose-spec.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    for path in FILES:
        problems = [
            f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(yaml.safe_load(path.read_text()))
        ]
        assert problems == [], (path.name, problems)
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert set(services) == {"migrate", "web", "runner"}
    assert services["migrate"]["command"] == ["statusweb-admin", "bootstrap", "production.ini"]
    assert services["web"]["command"] == ["pserve", "production.ini"]
    assert services["runner"]["command"] == ["statusweb-admin", "run-checks", "production.ini"]
    for name in ("web", "runner"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
        assert services[name]["environment"]["STATUSWEB_RUNNER"] == "false"  # runners run on their own
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    postgres = yaml.safe_load(WITH_POSTGRES.read_text())["services"]
    assert (
        postgres["postgres"]["image"] == "postgres:16"
        and "pg_isready" in postgres["postgres"]["healthcheck"]["test"][1]
    )
    assert postgres["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    backup = yaml.safe_load(WITH_BACKUPS.read_text())["services"]["backup"]
    assert backup["command"][:2] == ["sh", "/backup.sh"] and "./backup.sh:/backup.sh:ro" in backup["volumes"]


def test_no_secret_is_written_in_the_compose_files():
    for path in FILES:
        for name, service in yaml.safe_load(path.read_text())["services"].items():
            for key, value in (service.get("environment") or {}).items():
                assert (
                    _VARIABLE.fullmatch(str(value))
                    or key in SET_BY_COMPOSE
                    or ("PASSWORD" not in key and "SECRET" not in key and "TOKEN" not in key and "URL" not in key)
                ), (path.name, name, key, value)
    text = "".join(path.read_text() for path in FILES)
    passwords = re.findall(r"postgres(?:ql)?(?:\+psycopg)?://[^$\s:]*:([^$@\s]+)@", text)
    assert "hooks.slack.com" not in text and set(passwords) <= {"PASSWORD"}  # a placeholder in a message only


def test_env_example_lists_every_variable_with_a_comment():
    from statusweb.settings import ENVIRONMENT_OVERRIDES

    example = read_env_example()
    lines = ENV_EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):  # each variable's block of lines starts with a comment
        if line and not line.startswith("#"):
            above = number - 1
            while above >= 0 and lines[above] and not lines[above].startswith("#"):
                above -= 1
            assert above >= 0 and lines[above].startswith("#"), f"{line.split('=')[0]}: no comment above it"
    named = set(_VARIABLE.findall("".join(path.read_text() for path in FILES)))
    assert {name for name, _, _ in named} <= set(example)
    app_reads = (
        set(ENVIRONMENT_OVERRIDES)
        | {
            "SLACK_WEBHOOK_URL",
            "SLACK_CHANNEL",
            "STATUSWEB_ADMIN_PASSWORD",
            "HEALTH_CHECK_INTERVAL",
            "HEALTH_CHECK_RETRIES",
        }
    ) - SET_BY_COMPOSE
    assert app_reads <= set(example), app_reads - set(example)
    passed = set(yaml.safe_load(COMPOSE.read_text())["x-environment"])
    assert set(example) - COMPOSE_ONLY == passed, "every variable of .env.example reaches the containers"
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### The environment") : readme.index("The image runs")]
    in_readme = {
        name for cell in re.findall(r"^\| ([^|]+) \|", table, re.M) for name in re.findall(r"`([A-Z_]+)`", cell)
    }
    assert in_readme - SET_BY_COMPOSE - DEVELOPMENT_ONLY <= set(example), in_readme - set(example)


@pytest.mark.slow
def test_the_services_commands_run_in_order_and_share_the_checks(tmp_path):
    """migrate, then web and two runners, each with the environment compose gives it."""
    from sqlalchemy import create_engine, func, select

    from statusweb.models import RunnerMember
    from tests.statusweb.conftest import create_pg_database, drop_pg_database

    url = create_pg_database()
    port = free_port()
    (tmp_path / "production.ini").write_text((ROOT / "production.ini").read_text())  # the image's /app
    (tmp_path / "monitors.toml").write_text(
        f'[[monitor]]\nname = "Status page"\nurl = "http://127.0.0.1:{port}/healthz"\ninterval = "2s"\nretries = 0\n'
        f'[[monitor]]\nname = "Front page"\nurl = "http://127.0.0.1:{port}/"\ninterval = "2s"\nretries = 0\n'
    )
    filled = {
        **read_env_example(),
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "STATUSWEB_SECRET": "s" * 48,
        "STATUS_PAGE_URL": f"http://127.0.0.1:{port}",
        "STATUSCORE_MONITORS": str(tmp_path / "monitors.toml"),
        "STATUSWEB_ADMIN_PASSWORD": "a long passphrase",
        "STATUSWEB_TRUSTED_PROXY": "127.0.0.1",
    }
    services = yaml.safe_load(COMPOSE.read_text())["services"]

    def command(name: str) -> tuple[list[str], dict[str, str]]:
        service = services[name]
        env = {key: interpolate(str(value), filled) for key, value in service["environment"].items()}
        if "PORT" in env:
            env["PORT"] = str(port)  # the container's 6543, here a free port
        return [str(BIN / service["command"][0]), *service["command"][1:]], clean_env(**env)

    running: list[subprocess.Popen] = []
    try:
        argv, env = command("migrate")
        migrate = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stderr
        assert "created the tables (schema " in migrate.stdout and "created admin 'admin'" in migrate.stdout
        copies = int(interpolate(str(services["runner"]["deploy"]["replicas"]), filled))
        assert copies == 2
        for name in ["web"] + ["runner"] * copies:
            argv, env = command(name)
            running.append(
                subprocess.Popen(
                    argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
                )
            )
        engine = create_engine(url)
        members = components = 0
        for _ in range(240):
            assert all(process.poll() is None for process in running), [p.stderr.read() for p in running if p.poll()]
            with engine.connect() as connection:
                members = connection.execute(select(func.count()).select_from(RunnerMember)).scalar_one()
            try:
                summary = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/summary.json", timeout=5))
                components = sum(
                    1 for c in summary["components"] if c.get("updated_at") and c["status"] == "operational"
                )
            except (OSError, urllib.error.URLError):
                pass
            if members == 2 and components >= 2:
                break
            time.sleep(0.25)
        engine.dispose()
        assert members == 2 and components >= 2, (members, components)
        health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status == 200
    finally:
        for process in running:
            process.terminate()
        for process in running:
            process.wait(30)
        drop_pg_database(url)
    assert all(process.returncode in (0, -15) for process in running), [p.stderr.read() for p in running]
