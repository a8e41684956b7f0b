"""The `http` check type against real local servers, well-behaved and hostile."""

from __future__ import annotations

import asyncio
import ssl
import time
from urllib.parse import urlsplit

import aiohttp
import pytest
import trustme

from statuscore import Status, check, make_monitor
from statuscore.checks.http_client import DEFAULT_PORTS, connecting_phase
from statuscore.testing import self_signed_server_context, unanswered_connect
from tests.targets import HITS, SEQUENCES, garbage, hello_app, raw_tcp, refused_url, reset_connection, serve_app, silent


def http(url: str, **options):
    options.setdefault("retries", 0)
    return make_monitor(name="target", url=url, **options)


async def test_200_is_up_with_latency_and_code(target):
    base, _ = target
    result = await check(http(f"{base}/ok", conditions=["status == 200", "json.he exists"]))
    assert result.status is Status.UP
    assert result.status_code == 200
    assert result.error is None
    assert 0 <= result.latency_ms < 1000
    assert result.attempts == 1


async def test_500_is_down_with_the_reason(target):
    base, _ = target
    result = await check(http(f"{base}/status/500"))
    assert result.status is Status.DOWN
    assert result.status_code == 500
    assert result.error == "HTTP 500 Internal Server Error (expected 2xx)"


async def test_503_then_recovery_is_retried_until_up(target):
    base, app = target
    app[SEQUENCES]["flaky"] = [503, 503, 200]
    result = await check(http(f"{base}/sequence/flaky", retries=3, retry_delay="10ms"))
    assert result.status is Status.UP
    assert result.attempts == 3
    assert app[HITS]["/sequence/flaky"] == 3


async def test_503_every_time_uses_every_retry(target):
    base, app = target
    app[SEQUENCES]["down"] = [503]
    result = await check(http(f"{base}/sequence/down", retries=2, retry_delay="10ms"))
    assert result.status is Status.DOWN
    assert (result.attempts, result.max_attempts) == (3, 3)
    assert result.error.startswith("HTTP 503")


async def test_404_is_final_at_once(target):
    base, app = target
    result = await check(http(f"{base}/status/404", retries=3, retry_delay="10ms"))
    assert result.status is Status.DOWN
    assert result.attempts == 1
    assert app[HITS]["/status/404"] == 1


async def test_failed_condition_is_final_and_says_which(target):
    base, app = target
    result = await check(http(f"{base}/ok", retries=3, retry_delay="10ms", conditions=['json.state == "broken"']))
    assert result.status is Status.DOWN
    assert result.attempts == 1
    assert result.error == "condition failed: json.state == \"broken\" (json.state was 'ok')"


async def test_expected_status_can_be_a_list(target):
    base, _ = target
    result = await check(http(f"{base}/status/404", expected_status=[404, 410]))
    assert result.status is Status.UP


async def test_slow_success_is_degraded(target):
    base, _ = target
    result = await check(http(f"{base}/slow?delay=0.3", degraded_over="100ms"))
    assert result.status is Status.DEGRADED
    assert result.error.startswith("slow: answered in")


async def test_slow_beyond_timeout_is_down(target):
    base, _ = target
    result = await check(http(f"{base}/slow?delay=2", timeout="300ms"))
    assert result.status is Status.DOWN
    assert result.error == "timed out after 0.3 s waiting for headers"


async def test_hang_before_headers_times_out_within_the_timeout(target):
    base, _ = target
    started = time.monotonic()
    result = await check(http(f"{base}/hang", timeout="500ms"))
    elapsed = time.monotonic() - started
    assert result.status is Status.DOWN
    assert result.error == "timed out after 0.5 s waiting for headers"
    assert elapsed < 0.5 + 1.0


async def test_hang_mid_body_times_out_reading_the_body(target):
    base, _ = target
    result = await check(http(f"{base}/hang-body", timeout="500ms"))
    assert result.status is Status.DOWN
    assert result.status_code is None
    assert result.error == "timed out after 0.5 s reading the body"


async def test_a_connect_that_never_completes_times_out_connecting():
    with unanswered_connect() as port:
        started = time.monotonic()
        result = await check(http(f"http://127.0.0.1:{port}/", timeout="300ms"))
        elapsed = time.monotonic() - started
    assert result.status is Status.DOWN
    assert result.error == f"timed out after 0.3 s connecting to 127.0.0.1:{port}"
    assert elapsed < 0.3 + 1.0


async def test_a_kept_alive_connection_that_then_hangs_times_out_waiting_for_headers(target):
    """The second check reuses the first one's connection: no connect at all, yet the
    reason still names the phase the time ran out in."""
    base, _ = target
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        first = await check(http(f"{base}/ok"), session=session)
        second = await check(http(f"{base}/hang", timeout="300ms"), session=session)
    assert first.status is Status.UP
    assert second.error == "timed out after 0.3 s waiting for headers"


async def test_waiting_for_a_free_connection_counts_as_connecting(target):
    base, _ = target
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        holder = asyncio.ensure_future(check(http(f"{base}/slow?delay=1", timeout="2s"), session=session))
        await asyncio.sleep(0.2)
        waiting = await check(http(f"{base}/ok", timeout="300ms"), session=session)
        await holder
    port = base.rsplit(":", 1)[1]
    assert waiting.error == f"timed out after 0.3 s connecting to 127.0.0.1:{port}"


async def test_connection_refused():
    url = refused_url()
    result = await check(http(url))
    assert result.status is Status.DOWN
    assert result.error.startswith("connection refused by 127.0.0.1:")


async def test_connection_reset_is_retried_then_down():
    async with raw_tcp(reset_connection) as base:
        result = await check(http(f"{base}/", retries=1, retry_delay="10ms"))
    assert result.status is Status.DOWN
    assert result.attempts == 2
    assert "reset" in result.error or "closed the connection" in result.error


async def test_garbage_bytes_are_an_invalid_response():
    async with raw_tcp(garbage) as base:
        result = await check(http(f"{base}/"))
    assert result.status is Status.DOWN
    assert result.error.startswith("invalid HTTP response")


async def test_silent_tcp_server_times_out():
    async with raw_tcp(silent) as base:
        result = await check(http(f"{base}/", timeout="300ms"))
    assert result.error == "timed out after 0.3 s waiting for headers"


async def test_huge_body_is_cut_at_the_cap_not_buffered(target):
    base, _ = target
    result = await check(http(f"{base}/huge", max_body_bytes=100_000, conditions=['body contains "yyy"']))
    assert result.status is Status.UP
    assert result.values == {"truncated": True}


async def test_redirects_are_followed(target):
    base, _ = target
    result = await check(http(f"{base}/chain/3", conditions=["json.arrived == true"]))
    assert result.status is Status.UP


async def test_redirect_loop_is_named(target):
    base, _ = target
    result = await check(http(f"{base}/loop/a", retries=2))
    assert result.status is Status.DOWN
    assert result.error == "redirect loop"
    assert result.attempts == 1


async def test_too_many_redirects(target):
    base, _ = target
    result = await check(http(f"{base}/chain/12"))
    assert result.error == "too many redirects (more than 10)"


async def test_redirect_not_followed_when_asked(target):
    base, _ = target
    result = await check(http(f"{base}/chain/1", follow_redirects=False, expected_status=[302]))
    assert result.status is Status.UP


async def test_self_signed_certificate_is_down(tmp_path):
    async with serve_app(hello_app(), self_signed_server_context(tmp_path)) as base:
        result = await check(http(f"{base}/", retries=2))
    assert result.status is Status.DOWN
    assert result.error == "TLS certificate verify failed: self-signed certificate"
    assert result.attempts == 1


async def test_private_ca_is_trusted_with_ca_file(tmp_path):
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    async with serve_app(hello_app(), server_context) as base:
        trusted = await check(http(f"{base}/", ca_file=str(ca_file)))
        untrusted = await check(http(f"{base}/"))
        unverified = await check(http(f"{base}/", verify_tls=False))
    assert trusted.status is Status.UP
    assert untrusted.error == "TLS certificate verify failed: unable to get local issuer certificate"
    assert unverified.status is Status.UP


async def test_post_with_json_body_and_headers(target):
    from aiohttp import web

    seen = {}

    async def echo(request):
        seen["json"] = await request.json()
        seen["auth"] = request.headers.get("Authorization")
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/echo", echo)
    async with serve_app(app) as base:
        result = await check(
            http(f"{base}/echo", method="post", json={"text": "Job 1:1"}, headers={"Authorization": "Bearer t"})
        )
    assert result.status is Status.UP
    assert seen == {"json": {"text": "Job 1:1"}, "auth": "Bearer t"}


@pytest.mark.parametrize("path", ["/hang", "/hang-body", "/huge", "/loop/a"])
async def test_hostile_targets_answer_within_timeout_plus_one_second(target, path):
    base, _ = target
    started = time.monotonic()
    result = await check(http(f"{base}{path}", timeout="1s"))
    assert time.monotonic() - started < 2.0
    assert result.status in (Status.DOWN, Status.UP)
    assert result.error or result.status is Status.UP


@pytest.mark.parametrize(
    "url, phase",
    [
        ("http://127.0.0.1:8080/ok", "connecting to 127.0.0.1:8080"),
        ("https://www.sefaria.org/api/texts/Genesis.1.1", "connecting to www.sefaria.org:443"),
        ("http://example.test?x=1", "connecting to example.test:80"),
        ("https://user:pa%40ss@Example.Test:8443/#top", "connecting to example.test:8443"),
        ("http://[::1]:9000/health", "connecting to ::1:9000"),
        ("https://linker.test/api/async/{task_id}", "connecting to linker.test:443"),
    ],
)
def test_the_connecting_phase_names_host_and_port_as_the_url_says(url, phase):
    """Worked out once per scheme and authority, so it must agree with splitting the
    whole URL: user info, IPv6, default ports, no path."""
    whole = urlsplit(url)
    assert connecting_phase(url) == phase
    assert phase == f"connecting to {whole.hostname}:{whole.port or DEFAULT_PORTS[whole.scheme]}"
