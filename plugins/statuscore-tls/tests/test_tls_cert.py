"""`tls_cert` against local TLS servers with certificates made at test time (trustme)."""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime, timedelta

import pytest
import trustme

from statuscore import ConfigError, Status
from statuscore.testing import HOST, run_check, self_signed_server_context, serve_tcp

NOW = datetime.now(UTC)


async def _hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1)


def server_context(ca: trustme.CA, *identities: str, **validity) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*identities, **validity).configure_cert(context)
    return context


@pytest.fixture
def ca(tmp_path):
    authority = trustme.CA()
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    authority.path = str(path)
    return authority


async def check_cert(context: ssl.SSLContext, ca_file: str | None, **keys):
    async with serve_tcp(_hold, ssl=context) as port:
        return await run_check("tls_cert", host=HOST, port=port, ca_file=ca_file, **keys)


async def test_valid_certificate_is_up_with_days_left(ca):
    result = await check_cert(server_context(ca, HOST, not_after=NOW + timedelta(days=90)), ca.path)
    assert result.status is Status.UP, result.error
    assert 89 < result.values["days_left"] <= 90


async def test_expired_certificate_is_down(ca):
    context = server_context(ca, HOST, not_before=NOW - timedelta(days=60), not_after=NOW - timedelta(days=3, hours=1))
    result = await check_cert(context, ca.path)
    assert result.status is Status.DOWN
    assert result.error == f"certificate expired 3 days ago ({NOW - timedelta(days=3, hours=1):%Y-%m-%d})"
    assert result.values["days_left"] < -3


async def test_not_yet_valid_certificate_is_down(ca):
    context = server_context(ca, HOST, not_before=NOW + timedelta(days=2), not_after=NOW + timedelta(days=90))
    result = await check_cert(context, ca.path)
    assert result.status is Status.DOWN
    assert result.error.startswith("certificate not yet valid (valid from")


async def test_wrong_host_is_down(ca):
    result = await check_cert(server_context(ca, "other.example"), ca.path)
    assert result.status is Status.DOWN
    assert result.error == "hostname mismatch: certificate is not valid for 127.0.0.1"


async def test_self_signed_certificate_is_untrusted(tmp_path):
    result = await check_cert(self_signed_server_context(tmp_path), None)
    assert result.status is Status.DOWN
    assert result.error == "untrusted certificate: self-signed certificate"


async def test_certificate_from_an_unknown_authority_is_untrusted(ca):
    result = await check_cert(server_context(ca, HOST), None)
    assert result.error == "untrusted certificate: unable to get local issuer certificate"


async def test_expiring_within_warn_within_is_degraded(ca):
    context = server_context(ca, HOST, not_after=NOW + timedelta(days=3, hours=1))
    result = await check_cert(context, ca.path)
    assert result.status is Status.DEGRADED
    assert result.error.startswith("certificate expires in 3 days (")
    shorter = await check_cert(
        server_context(ca, HOST, not_after=NOW + timedelta(days=3, hours=1)), ca.path, warn_within="2d"
    )
    assert shorter.status is Status.UP


async def test_days_left_in_conditions(ca):
    context = server_context(ca, HOST, not_after=NOW + timedelta(days=20))
    result = await check_cert(context, ca.path, conditions=["days_left > 30"])
    assert result.status is Status.DOWN
    assert result.error.startswith("condition failed: days_left > 30 (days_left was ")
    assert 19.9 <= result.values["days_left"] <= 20


async def test_nothing_listening_is_down():
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    result = await run_check("tls_cert", host=HOST, port=port)
    assert result.status is Status.DOWN
    assert result.error == "connection refused"


async def test_config_errors_are_reported_like_built_in_ones():
    with pytest.raises(ConfigError) as caught:
        await run_check("tls_cert", name="cert", host="https://example.org/", port=443)
    assert (caught.value.monitor, caught.value.key) == ("cert", "host")
    with pytest.raises(ConfigError) as caught:
        await run_check("tls_cert", name="cert", host="example.org", warn_within="two weeks")
    assert caught.value.key == "warn_within"


async def test_a_changed_ca_file_is_trusted_from_the_next_check_without_a_restart(tmp_path):
    """Issue 30: after the CA changed, the check stayed "unable to get local issuer
    certificate" until the runner restarted. One monitor, one Scheduler, three checks."""
    from statuscore import Scheduler, make_monitor

    old, new = trustme.CA(), trustme.CA()
    path = tmp_path / "ca.pem"
    old.cert_pem.write_to_path(str(path))
    async with serve_tcp(_hold, ssl=server_context(new, HOST)) as port:
        monitor = make_monitor(name="Cert", type="tls_cert", host=HOST, port=port, ca_file=str(path), retries=0)
        scheduler = Scheduler([monitor])
        await scheduler.start()
        try:
            before = await scheduler.check_now("cert")
            assert before.error == "untrusted certificate: unable to get local issuer certificate"
            new.cert_pem.write_to_path(str(path))  # the operator installs the new CA
            after = await scheduler.check_now("cert")
            assert after.status is Status.UP, after.error
            path.unlink()
            gone = await scheduler.check_now("cert")
            assert gone.status is Status.DOWN and gone.error == f"cannot read ca_file {path}: No such file or directory"
        finally:
            await scheduler.close()
