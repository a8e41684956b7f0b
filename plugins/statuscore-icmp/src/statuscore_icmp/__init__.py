"""`icmp`: a host answers ping (ICMP echo), by icmplib.

[[monitor]]
name = "Export server"
type = "icmp"
host = "export.sefaria.org"
count = 3                         # echo requests per check
packet_interval = "200ms"         # between them (`interval` is how often the check runs)
conditions = ["icmp.loss < 50", "icmp.rtt_avg < 200"]

UP when any request is answered (conditions can ask more: `icmp.loss` in percent,
`icmp.rtt_avg` and `icmp.rtt_max` in milliseconds, `icmp.received`); DOWN, and retried,
when none is. ICMP needs a socket the kernel allows: `socket = "auto"` (the default) tries
an unprivileged ICMP socket (allowed for the groups in `net.ipv4.ping_group_range`), then
a raw one (root or CAP_NET_RAW); when neither is allowed the check is DOWN saying so and
how to allow one, instead of failing obscurely (a container without root).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import statuscore
from statuscore import Attempt, CheckContext, CheckType, Duration, FieldError, has_control_characters

SOCKETS = ("auto", "unprivileged", "raw")
NOT_ALLOWED = (
    "ICMP is not allowed to this process: no unprivileged ICMP socket (its group is not in "
    "net.ipv4.ping_group_range; e.g. sysctl -w net.ipv4.ping_group_range='0 2147483647') "
    "and no raw socket (it needs root or CAP_NET_RAW)"
)


@dataclass(frozen=True, kw_only=True)
class IcmpConfig:
    host: str
    count: int = 3
    packet_interval: Duration = 0.2
    socket: str = "auto"

    def __post_init__(self) -> None:
        if not self.host.strip() or has_control_characters(self.host) or " " in self.host or len(self.host) > 253:
            raise FieldError("host", "a host name or an IP address")
        if not 1 <= self.count <= 20:
            raise FieldError("count", "from 1 to 20 echo requests")
        if not 0.01 <= self.packet_interval <= 5:
            raise FieldError("packet_interval", "from 10ms to 5s")
        if self.socket not in SOCKETS:
            raise FieldError("socket", f"one of {', '.join(SOCKETS)}")


class IcmpCheck(CheckType[IcmpConfig]):
    name = "icmp"
    Config = IcmpConfig
    condition_subjects = frozenset({"icmp"})

    async def run(self, ctx: CheckContext) -> Attempt:
        import icmplib

        config = self.config
        ctx.phase = f"pinging {config.host}"
        # icmplib waits this long for each reply in turn: all of them fit in the monitor's timeout
        spare = ctx.remaining() - (config.count - 1) * config.packet_interval
        wait = max(0.05, min(2.0, spare * 0.8 / config.count))
        modes = {"auto": (False, True), "unprivileged": (False,), "raw": (True,)}[config.socket]
        host = None
        for privileged in modes:
            try:
                host = await icmplib.async_ping(
                    config.host,
                    count=config.count,
                    interval=config.packet_interval,
                    timeout=wait,
                    privileged=privileged,
                )
                break
            except icmplib.SocketPermissionError:
                continue
            except icmplib.NameLookupError:
                return Attempt(ok=False, retryable=True, error=f"the name {config.host} does not resolve")
            except icmplib.ICMPLibError as exc:
                return Attempt(ok=False, retryable=True, error=f"ping failed: {type(exc).__name__}: {exc}"[:200])
        if host is None:
            return Attempt(ok=False, error=NOT_ALLOWED)
        values = {
            "icmp": {
                "loss": round(host.packet_loss * 100, 1),
                "received": host.packets_received,
                "rtt_avg": round(host.avg_rtt, 3),
                "rtt_max": round(host.max_rtt, 3),
            }
        }
        if not host.packets_received:
            lost = f"{host.packets_sent} of {host.packets_sent} echo requests lost"
            return Attempt(ok=False, retryable=True, values=values, error=f"no reply from {config.host}: {lost}")
        return Attempt(ok=True, values=values)


@statuscore.hookimpl
def statuscore_check_types() -> list[type[CheckType[Any]]]:
    return [IcmpCheck]
