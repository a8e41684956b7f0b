"""`grpc`: the server's standard health service (grpc.health.v1.Health/Check) answers
SERVING for the whole server or for one service.

[[monitor]]
name = "Search backend"
type = "grpc"
target = "search.internal:50051"
service = "sefaria.Search"        # "" (the default): the server as a whole
tls = true                        # ca_file = "/etc/ssl/internal-ca.pem", server_name = "search"

UP on SERVING; DOWN on NOT_SERVING, UNKNOWN and SERVICE_UNKNOWN, on a server without the
health service (UNIMPLEMENTED), an unknown service (NOT_FOUND), or no answer within the
monitor's timeout (the call's deadline). UNAVAILABLE (nothing listening, a TLS failure)
is retried. Conditions see `grpc.status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import statuscore
from statuscore import Attempt, CheckContext, CheckType, FieldError, has_control_characters


@dataclass(frozen=True, kw_only=True)
class GrpcConfig:
    target: str
    service: str = ""
    tls: bool = False
    ca_file: str = ""
    server_name: str = ""

    def __post_init__(self) -> None:
        host, _, port = self.target.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536 or has_control_characters(self.target):
            raise FieldError("target", f"host:port, e.g. search.internal:50051 (got {self.target!r})")
        if has_control_characters(self.service) or len(self.service) > 200:
            raise FieldError("service", "a service name of one line")
        if (self.ca_file or self.server_name) and not self.tls:
            raise FieldError("ca_file" if self.ca_file else "server_name", "only with tls = true")
        if self.ca_file and not Path(self.ca_file).is_file():
            raise FieldError("ca_file", f"no such file: {self.ca_file}")


class GrpcCheck(CheckType[GrpcConfig]):
    name = "grpc"
    Config = GrpcConfig
    condition_subjects = frozenset({"grpc"})

    async def run(self, ctx: CheckContext) -> Attempt:
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        config = self.config
        ctx.phase = f"calling Health/Check on {config.target}"
        options = [("grpc.ssl_target_name_override", config.server_name)] if config.server_name else []
        if config.tls:
            roots = Path(config.ca_file).read_bytes() if config.ca_file else None
            channel = grpc.aio.secure_channel(config.target, grpc.ssl_channel_credentials(roots), options=options)
        else:
            channel = grpc.aio.insecure_channel(config.target, options=options)
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=config.service), timeout=max(0.1, ctx.remaining())
            )
        except grpc.aio.AioRpcError as exc:
            return _failed(exc.code(), exc.details() or "", config, grpc.StatusCode)
        finally:
            await channel.close()
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        values = {"grpc": {"status": status}}
        if status != "SERVING":
            return Attempt(ok=False, values=values, error=f"health: {status}{_of(config)}")
        return Attempt(ok=True, values=values)


def _of(config: GrpcConfig) -> str:
    return f" for service {config.service!r}" if config.service else ""


def _failed(code: Any, details: str, config: GrpcConfig, codes: Any) -> Attempt:
    """The reason for a call that failed, by its gRPC status code."""
    said = statuscore.redact_urls(" ".join(details.split()))[:160]
    if code == codes.UNIMPLEMENTED:
        return Attempt(ok=False, error="the server has no health service (grpc.health.v1.Health)")
    if code == codes.NOT_FOUND:
        return Attempt(ok=False, error=f"the health service does not know{_of(config) or ' the server'}")
    if code == codes.DEADLINE_EXCEEDED:
        return Attempt(ok=False, retryable=True, error=f"no answer from {config.target} before the deadline")
    retryable = code in (codes.UNAVAILABLE, codes.RESOURCE_EXHAUSTED, codes.ABORTED)
    return Attempt(ok=False, retryable=retryable, error=f"{code.name}: {said}" if said else str(code.name))


@statuscore.hookimpl
def statuscore_check_types() -> list[type[CheckType[Any]]]:
    return [GrpcCheck]
