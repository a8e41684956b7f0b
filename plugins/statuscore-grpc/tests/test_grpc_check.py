"""`grpc` against grpcio servers on 127.0.0.1 with the standard health service: serving,
not serving, an unknown service, no health service, TLS with a private CA, and a port that
never speaks gRPC."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
import pytest
import trustme
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from statuscore import ConfigError, Status
from statuscore.testing import HOST, run_check, unanswered_connect


@asynccontextmanager
async def grpc_server(
    *, with_health: bool = True, tls: trustme.LeafCert | None = None
) -> AsyncIterator[tuple[int, health.aio.HealthServicer]]:
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    if with_health:
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    if tls is None:
        port = server.add_insecure_port(f"{HOST}:0")
    else:
        key, chain = tls.private_key_pem.bytes(), b"".join(blob.bytes() for blob in tls.cert_chain_pems)
        port = server.add_secure_port(f"{HOST}:0", grpc.ssl_server_credentials([(key, chain)]))
    await server.start()
    try:
        yield port, servicer
    finally:
        await server.stop(0)


async def test_serving_and_not_serving():
    async with grpc_server() as (port, servicer):
        await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        await servicer.set("sefaria.Search", health_pb2.HealthCheckResponse.NOT_SERVING)
        whole = await run_check("grpc", target=f"{HOST}:{port}", conditions=['grpc.status == "SERVING"'])
        search = await run_check("grpc", target=f"{HOST}:{port}", service="sefaria.Search", retries=0)
        unknown = await run_check("grpc", target=f"{HOST}:{port}", service="sefaria.Nothing", retries=0)
    assert whole.status is Status.UP, whole.error
    assert search.status is Status.DOWN and search.error == "health: NOT_SERVING for service 'sefaria.Search'"
    assert (
        unknown.status is Status.DOWN
        and unknown.error == "the health service does not know for service 'sefaria.Nothing'"
    )


async def test_a_server_without_the_health_service():
    async with grpc_server(with_health=False) as (port, _):
        result = await run_check("grpc", target=f"{HOST}:{port}", retries=0)
    assert result.error == "the server has no health service (grpc.health.v1.Health)"


async def test_tls_with_a_private_ca_and_a_wrong_one(tmp_path):
    ca = trustme.CA()
    leaf = ca.issue_cert("search.internal")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    async with grpc_server(tls=leaf) as (port, servicer):
        await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        keys = {"target": f"{HOST}:{port}", "tls": True, "server_name": "search.internal"}
        trusted = await run_check("grpc", ca_file=str(ca_file), **keys)
        untrusted = await run_check("grpc", ca_file=str(other), retries=0, **keys)
    assert trusted.status is Status.UP, trusted.error
    assert untrusted.status is Status.DOWN and untrusted.error.startswith("UNAVAILABLE")


async def test_nothing_listening_and_a_port_that_never_answers():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        closed = sock.getsockname()[1]
    refused = await run_check("grpc", target=f"{HOST}:{closed}", retries=0, timeout="2s")
    assert refused.status is Status.DOWN and refused.error.startswith(("UNAVAILABLE", "no answer"))
    with unanswered_connect() as port:
        silent = await run_check("grpc", target=f"{HOST}:{port}", retries=0, timeout="1s")
    assert silent.status is Status.DOWN and silent.latency < 5


@pytest.mark.parametrize(
    ("keys", "key"),
    [
        ({"target": "search.internal"}, "target"),
        ({"target": "search.internal:99999"}, "target"),
        ({"target": "a:1\r\nb"}, "target"),
        ({"target": "a:1", "ca_file": "/etc/hostname"}, "ca_file"),
        ({"target": "a:1", "tls": True, "ca_file": "/no/such/file.pem"}, "ca_file"),
        ({"target": "a:1", "service": "x\ny"}, "service"),
    ],
)
async def test_mistakes_fail_at_load_naming_the_key(keys, key):
    with pytest.raises(ConfigError) as caught:
        await run_check("grpc", **keys)
    assert caught.value.key == key, str(caught.value)
