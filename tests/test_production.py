"""production.ini as an operator starts it: real pserve (waitress) processes, configured
only through the environment; request size, secrets, the trusted proxy, `make run`'s
port, and the pinned dependencies."""

from __future__ import annotations

import configparser
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.targets import free_port
from tests.test_deployment import ROOT, clean_env, login_status

BIN = Path(sys.executable).parent


@pytest.fixture
def deployment(tmp_path):
    """A folder with production.ini on a free port, a migrated SQLite database and a user
    'ops' (password "a long passphrase"); yields (folder, port, env) with the runner off."""
    port = free_port()
    ini = (ROOT / "production.ini").read_text().replace("listen = 0.0.0.0:6543", f"listen = 127.0.0.1:{port}")
    (tmp_path / "production.ini").write_text(ini)
    (tmp_path / "monitors.toml").write_text("")
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'status.sqlite'}",
        STATUSWEB_RUNNER="false",
        STATUSCORE_MONITORS=str(tmp_path / "monitors.toml"),
        STATUSWEB_SECRET="s" * 40,
        STATUSWEB_ADMIN_PASSWORD="a long passphrase",
        STATUS_PAGE_URL=f"http://127.0.0.1:{port}",
    )
    subprocess.run(
        [str(BIN / "statusweb-admin"), "initdb", "production.ini"],
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    subprocess.run(
        [str(BIN / "statusweb-admin"), "create-user", "production.ini", "ops"],
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    return tmp_path, port, env


def serve(folder: Path, port: int, env: dict[str, str]) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(BIN / "pserve"), "production.ini"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(120):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            if server.poll() is not None:
                raise AssertionError(f"pserve exited: {server.stderr.read()}") from None
            time.sleep(0.25)
    server.kill()
    raise AssertionError("pserve never listened")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


# 7. Request size ----------------------------------------------------------------------


@pytest.mark.slow
def test_a_100_mb_anonymous_post_is_413_and_the_server_does_not_grow(deployment):
    folder, port, env = deployment
    server = serve(folder, port, env)
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login", timeout=10).read()
        before = rss_kb(server.pid)
        answers = []
        for framing in ("Content-Length: 104857600", "Transfer-Encoding: chunked"):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(
                    f"POST /admin/login HTTP/1.1\r\nHost: x\r\n{framing}\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode()
                )
                chunk = b"a" * (1024 * 1024)
                sent = 0
                try:
                    for _ in range(100):
                        sock.sendall(b"100000\r\n" + chunk + b"\r\n" if "chunked" in framing else chunk)
                        sent += 1
                except OSError:
                    pass  # the server hung up on us: what it should do
                answers.append(sock.recv(200).decode("latin-1").split("\r\n")[0])
        after = rss_kb(server.pid)
    finally:
        stop(server)
    print(f"answers: {answers}; server RSS {before / 1024:.0f} MB -> {after / 1024:.0f} MB")
    assert answers == ["HTTP/1.1 413 Request Entity Too Large"] * 2
    assert after - before < 20 * 1024


# Addresses that are not UTF-8 ------------------------------------------------------------


@pytest.mark.slow
def test_addresses_that_are_not_utf8_get_400_from_pserve_and_no_token_reaches_its_log(deployment):
    """The paths the audit found answering 500, sent raw to waitress: 400 each, and
    nothing of a push or invitation token in what the server prints."""
    folder, port, env = deployment
    paths = [
        "/incidents/%ff",
        "/history?x=%ff",
        "/admin/login?next=%ff",
        "/services/%ED%A0%80",
        "/badge/%ff/status.svg",
        "/pages/%ff/",
        "/api/push/pushsecret0123456789abcdef%ff",
        "/admin/invitations/invitesecret0123456789%ff",
    ]
    server = serve(folder, port, env)
    try:
        answers = []
        for path in paths:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                answers.append(sock.recv(200).decode("latin-1").split("\r\n")[0])
        with pytest.raises(urllib.error.HTTPError) as followed:  # to a page that does not exist: 404
            urllib.request.urlopen(f"http://127.0.0.1:{port}/lang/he?next=/%E2%82%AC", timeout=10)
        assert followed.value.code == 404 and followed.value.url.endswith("/%E2%82%AC")  # an ASCII Location
    finally:
        stop(server)
    log = server.stderr.read()
    assert answers == ["HTTP/1.1 400 Bad Request"] * len(paths), answers
    assert "pushsecret" not in log and "invitesecret" not in log


def test_waitress_log_lines_never_carry_a_push_or_invitation_token():
    import logging

    from statusweb.server import TokenPathFilter

    record = logging.LogRecord(
        "waitress",
        logging.ERROR,
        __file__,
        1,
        "Exception while serving %s",
        ("/api/push/pushsecret0123?status=up",),
        None,
    )
    TokenPathFilter().filter(record)
    assert record.getMessage() == "Exception while serving /api/push/…?status=up"
    record = logging.LogRecord(
        "waitress",
        logging.INFO,
        __file__,
        1,
        "Client disconnected while serving /admin/invitations/invitesecret",
        None,
        None,
    )
    TokenPathFilter().filter(record)
    assert "invitesecret" not in record.getMessage()


# 13. Secrets fail closed ----------------------------------------------------------------


@pytest.mark.parametrize(
    "secret, words", [(None, "STATUSWEB_SECRET is not set"), ("short-secret", "STATUSWEB_SECRET is 12 characters long")]
)
def test_production_without_a_strong_secret_stops_at_start_with_one_line(deployment, secret, words):
    folder, port, env = deployment
    env = {k: v for k, v in env.items() if k != "STATUSWEB_SECRET"}
    if secret:
        env["STATUSWEB_SECRET"] = secret
    result = subprocess.run(
        [str(BIN / "pserve"), "production.ini"], cwd=folder, env=env, timeout=60, capture_output=True, text=True
    )
    lines = [line for line in result.stderr.splitlines() if "STATUSWEB_SECRET" in line]
    print(result.stderr.strip().splitlines()[-1])
    assert result.returncode != 0
    assert len(lines) == 1 and lines[0].startswith(f"statusweb: {words}")
    assert "Traceback" not in result.stderr


# 14. Behind a proxy ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "trusted, honoured", [("127.0.0.0/8", True), ("*", True), ("", True), ("10.0.0.0/8", False), ("192.0.2.7", False)]
)
def test_forwarded_for_counts_only_from_the_trusted_proxy(deployment, trusted, honoured):
    """Five failed logins lock one address out. From a trusted proxy the address is the
    X-Forwarded-For one, so another client behind the same proxy may still try; from an
    untrusted peer the header is dropped and both are the peer itself. ("" is the ini's
    own trusted_proxy = 127.0.0.1.)"""
    folder, port, env = deployment
    if trusted:
        env = {**env, "STATUSWEB_TRUSTED_PROXY": trusted}
    server = serve(folder, port, env)
    try:
        for _ in range(5):
            assert login_status(port, "ops", "wrong password", forwarded_for="203.0.113.1") == 400
        assert login_status(port, "ops", "wrong password", forwarded_for="203.0.113.1") == 429
        other = login_status(port, "ops", "a long passphrase", forwarded_for="203.0.113.2")
    finally:
        stop(server)
    assert other == (303 if honoured else 429)


def test_a_bad_trusted_proxy_value_stops_the_server_with_one_line(deployment):
    folder, port, env = deployment
    result = subprocess.run(
        [str(BIN / "pserve"), "production.ini"],
        cwd=folder,
        timeout=60,
        env={**env, "STATUSWEB_TRUSTED_PROXY": "the proxy"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "statusweb: STATUSWEB_TRUSTED_PROXY must be an address, a network like 172.18.0.0/16, *, or cloudflare "
        "(with a local proxy's address: cloudflare,172.18.0.0/16); got 'the proxy'"
    )


# 15. First deployment -----------------------------------------------------------------


def test_postgres_urls_are_accepted_and_rewritten_for_psycopg(tmp_path):
    from statusweb.settings import apply_environment

    for given in ("postgres://u:p@db:5432/status", "postgresql://u:p@db:5432/status"):
        assert (
            apply_environment({}, {"DATABASE_URL": given})["sqlalchemy.url"]
            == "postgresql+psycopg://u:p@db:5432/status"
        )
    assert apply_environment({}, {"DATABASE_URL": "sqlite:///x.db"})["sqlalchemy.url"] == "sqlite:///x.db"


def test_initdb_takes_a_postgres_url_as_heroku_style_hosts_write_it(tmp_path):
    from tests.statusweb.conftest import create_pg_database, drop_pg_database

    url = create_pg_database()
    try:
        plain = url.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgres://")
        (tmp_path / "production.ini").write_text((ROOT / "production.ini").read_text())
        result = subprocess.run(
            [str(BIN / "statusweb-admin"), "bootstrap", "production.ini"],
            cwd=tmp_path,
            env=clean_env(DATABASE_URL=plain, STATUSWEB_ADMIN_PASSWORD="a long passphrase"),
            timeout=120,
            capture_output=True,
            text=True,
        )
    finally:
        drop_pg_database(url)
    assert result.returncode == 0, result.stderr
    assert "created the tables (schema " in result.stdout and "created admin 'admin'" in result.stdout
    assert "  0001  " in result.stdout  # and the migrations that ran, one a line


@pytest.mark.slow
def _hold(port: int) -> socket.socket:
    """Take `port` on 127.0.0.1 (or find it taken already, which is just as good)."""
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past old connections' TIME_WAIT
    for _ in range(40):
        try:
            holder.bind(("127.0.0.1", port))
            holder.listen()
            break
        except OSError:  # a server still on it, or going away: either way, wait for it
            if socket.socket().connect_ex(("127.0.0.1", port)) == 0:
                break  # something listens there: taken, just as good
            time.sleep(0.25)
    return holder


def test_make_run_moves_to_a_free_port_when_6543_is_taken_and_says_which():
    """And (issue 30, point 8) with the demo targets' 8099 taken too: they move, the demo
    monitors still pass, the push example names the page's port, and no check meets a
    refused connection (the self-check waits for the server to listen)."""
    holder, demo_holder = _hold(6543), _hold(8099)
    started = datetime.now(UTC).replace(microsecond=0)
    process = subprocess.Popen(
        ["make", "-s", "run"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env(STATUSWEB_ADMIN_PASSWORD="a long passphrase"),
        start_new_session=True,
    )
    try:
        lines = []
        while not any("status page:" in line for line in lines):
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        said = next(line for line in lines if "is taken" in line)
        port = int(re.search(r"using (\d+)", said).group(1))
        assert port != 6543
        page = b""
        for _ in range(120):
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/status.json", timeout=2).read()
                break
            except OSError:
                time.sleep(0.25)
        assert f'"url":"http://127.0.0.1:{port}"' in page.decode(), "".join(lines)
        components: dict[str, dict] = {}
        for _ in range(120):  # the first round of checks, once the server listens
            answer = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/components.json", timeout=5).read()
            components = {c["name"]: c for c in json.loads(answer)["components"]}
            checked = [components[name] for name in ("Website (demo)", "This status page")]
            if all(
                datetime.fromisoformat(c["updated_at"]) >= started for c in checked
            ):  # checked by this run (unknown reads operational)
                break
            time.sleep(0.25)
        assert all(
            c["status"] == "operational" and datetime.fromisoformat(c["updated_at"]) >= started for c in checked
        ), components
        assert f"curl http://127.0.0.1:{port}/api/push/" in components["Nightly export (demo)"]["description"]
    finally:
        os.killpg(process.pid, 15)
        output = "".join(lines) + process.communicate(timeout=30)[0]
        holder.close()
        demo_holder.close()
    assert "the demo targets listen on" in output
    assert "refused" not in output.lower(), output


# 16. Dependency floors --------------------------------------------------------------------


def test_floors_are_past_the_security_fixes_and_constraints_pin_what_ci_ran():
    from importlib.metadata import distributions

    from packaging.requirements import Requirement
    from packaging.version import Version

    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    requirements = [
        Requirement(line)
        for section in (setup["options"]["install_requires"], setup["options.extras_require"]["web"])
        for line in section.split("\n")
        if line.strip()
    ]
    floors = {r.name.lower(): r.specifier for r in requirements}
    for name, fixed in (("waitress", "3.0.1"), ("pyramid", "2.0.2"), ("aiohttp", "3.13.3")):
        lowest = min(Version(spec.version) for spec in floors[name] if spec.operator == ">=")
        assert lowest >= Version(fixed), f"{name} floor {lowest} is below {fixed}"
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    for requirement in requirements:
        pinned = pins[requirement.name.lower().replace("_", "-")]
        assert requirement.specifier.contains(pinned), f"{requirement} but constraints.txt pins {pinned}"
    installed = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in distributions()}
    for name, version in pins.items():
        assert installed.get(name) == version, f"{name}: installed {installed.get(name)}, pinned {version}"
    for path in ("Makefile", "Dockerfile"):
        assert "-c constraints.txt" in (ROOT / path).read_text()


def test_the_readmes_first_deployment_runs_as_written(tmp_path):
    """Issue 30, point 4: the README's step-by-step block, run by bash as a newcomer
    pastes it: `createdb`, the exports, bootstrap and pserve; only the database's name
    is made unique, the port free, and the runner off (its monitors would leave 127.0.0.1)."""
    import secrets
    import shutil

    from tests.statusweb.conftest import PG_URL, drop_pg_database

    if shutil.which("createdb") is None:
        pytest.skip("createdb is missing (PostgreSQL's client tools: apt-get install postgresql-client)")
    readme = (ROOT / "README.md").read_text()
    block = re.findall(r"```sh\n(.*?)```", readme[readme.index("### First deployment, step by step") :], re.S)[0]
    name = f"statusweb_readme_{secrets.token_hex(4)}"
    port = free_port()
    pg = __import__("sqlalchemy").make_url(PG_URL)
    script = (
        block.replace(" status ", f" {name} ")
        .replace("5432/status", f"5432/{name}")
        .replace("127.0.0.1", pg.host or "127.0.0.1")
        .replace(".venv/bin/", f"{BIN}/")
    )
    assert name in script and script.count(name) == 2
    server_line = script.splitlines()[-1]
    script = "set -euo pipefail\n" + "\n".join(script.splitlines()[:-1]) + f"\nexec {server_line}\n"
    env = clean_env(STATUSWEB_RUNNER="false", PORT=str(port), STATUSWEB_ADMIN_PASSWORD="a long passphrase")
    server = subprocess.Popen(
        ["bash", "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    assert answer.status == 200 and b"All Systems Operational" in answer.read()
                    break
            except (OSError, urllib.error.URLError) as exc:
                assert server.poll() is None, server.stdout.read()
                assert not isinstance(exc, urllib.error.HTTPError), exc
                time.sleep(0.25)
        else:
            raise AssertionError("pserve never answered")
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
        drop_pg_database(pg.set(database=name))
    assert "created the tables (schema " in output and "created admin 'admin'" in output, output
