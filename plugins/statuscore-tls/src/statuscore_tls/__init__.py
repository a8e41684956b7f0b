"""`tls_cert`: is the certificate a browser would get valid, and for how much longer?

    [[monitor]]
    name = "sefaria.org certificate"
    type = "tls_cert"
    host = "www.sefaria.org"
    warn_within = "14d"
    interval = "1h"

DOWN when the certificate is expired, not yet valid, for another host or not trusted
(the reason says which); DEGRADED when it expires within `warn_within`. `days_left` is
reported in the result and usable in conditions (`days_left > 30`). A `ca_file` is read
at every check (a few kilobytes) and loaded again when its content changed, so a renewed
CA is trusted from the next check, without a restart. Its DEGRADED (expiring soon) is
for the admin and alerts; status pages show it operational unless the monitor sets
`public_degraded = true`.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import statuscore
from statuscore import Attempt, CheckContext, CheckType, FieldError

if TYPE_CHECKING:  # loaded when a certificate is read: every `statuscore` start loads this plugin
    from cryptography import x509

# OpenSSL's X509_V_ERR_* codes for the failures people ask about by name.
_EXPIRED, _NOT_YET_VALID, _NAME_MISMATCH = 10, 9, (62, 64)  # 64: an IP address
_MAX_CA_BYTES = 16 * 1024 * 1024  # compared up to here (a system bundle is about 200 KB)


@dataclass(frozen=True, kw_only=True)
class TlsCertConfig:
    host: str
    port: int = 443
    server_name: str = ""
    warn_within: statuscore.Duration = 14 * 86400.0
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if "/" in self.host or ":" in self.host.strip("[]").replace("::", ""):
            raise FieldError("host", f"expected a host name or address, not a URL: {self.host!r}")
        if not 0 < self.port < 65536:
            raise FieldError("port", f"{self.port} is not a TCP port")


class TlsCertCheck(CheckType[TlsCertConfig]):
    name = "tls_cert"
    Config = TlsCertConfig
    condition_subjects = frozenset({"days_left"})
    public_degraded = False  # expiring soon is the operator's business, not a degraded service

    def __init__(self, config: TlsCertConfig) -> None:
        super().__init__(config)
        self._ca_pem = _read(config.ca_file) if config.ca_file else None
        self._verifying = ssl.create_default_context(cafile=config.ca_file)
        self._reading = ssl.create_default_context()
        self._reading.check_hostname = False
        self._reading.verify_mode = ssl.CERT_NONE

    def _verifying_context(self) -> ssl.SSLContext:
        """The context that trusts `ca_file` as it is on disk now (read again when it changed)."""
        path = self.config.ca_file
        if path is not None:
            pem = _read(path)
            if pem != self._ca_pem:  # compared by content: a clock's granularity cannot hide a change
                self._verifying = ssl.create_default_context(cafile=path)
                self._ca_pem = pem
        return self._verifying

    async def run(self, ctx: CheckContext) -> Attempt:
        config = self.config
        try:
            verifying = self._verifying_context()
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            return Attempt(ok=False, error=f"cannot read ca_file {config.ca_file}: {reason}")
        ctx.phase = f"in the TLS handshake with {config.host}:{config.port}"
        try:
            certificate = await self._peer_certificate(verifying)
        except ssl.SSLCertVerificationError as exc:
            return await self._refused(exc)
        days_left = _days_left(certificate)
        values = {"days_left": days_left, "not_after": _not_after(certificate).isoformat()}
        if days_left * 86400 < config.warn_within:
            return Attempt(
                ok=True,
                values=values,
                warning=f"certificate expires in {_days(days_left)} ({_not_after(certificate):%Y-%m-%d})",
            )
        return Attempt(ok=True, values=values)

    async def _refused(self, exc: ssl.SSLCertVerificationError) -> Attempt:
        """A verification failure, named; the dates are read over a second, unverified
        handshake so `days_left` is known even for an expired certificate."""
        values: dict[str, object] = {}
        try:
            certificate = await self._peer_certificate(self._reading)
            values = {"days_left": _days_left(certificate), "not_after": _not_after(certificate).isoformat()}
        except (OSError, ssl.SSLError, ValueError):
            certificate = None
        code = exc.verify_code
        if code == _EXPIRED and certificate is not None:
            reason = f"certificate expired {_days(-_days_left(certificate))} ago ({_not_after(certificate):%Y-%m-%d})"
        elif code == _EXPIRED:
            reason = "certificate expired"
        elif code == _NOT_YET_VALID:
            reason = "certificate not yet valid" + (
                f" (valid from {_not_before(certificate):%Y-%m-%d})" if certificate is not None else ""
            )
        elif code in _NAME_MISMATCH:
            reason = f"hostname mismatch: certificate is not valid for {self._sni}"
        else:
            reason = f"untrusted certificate: {(exc.verify_message or str(exc)).rstrip('.')}"
        return Attempt(ok=False, error=reason, values=values)

    @property
    def _sni(self) -> str:
        return self.config.server_name or self.config.host

    async def _peer_certificate(self, context: ssl.SSLContext) -> x509.Certificate:
        reader, writer = await asyncio.open_connection(
            self.config.host, self.config.port, ssl=context, server_hostname=self._sni
        )
        try:
            der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        finally:
            writer.transport.abort()
        from cryptography import x509

        return x509.load_der_x509_certificate(der)


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read(_MAX_CA_BYTES + 1)


def _not_after(certificate: x509.Certificate) -> datetime:
    return certificate.not_valid_after_utc


def _not_before(certificate: x509.Certificate) -> datetime:
    return certificate.not_valid_before_utc


def _days_left(certificate: x509.Certificate) -> float:
    remaining = _not_after(certificate) - datetime.now(UTC)
    return round(remaining.total_seconds() / 86400, 2)


def _days(days: float) -> str:
    whole = int(days)
    return f"{whole} day" if whole == 1 else f"{whole} days"


@statuscore.hookimpl
def statuscore_check_types() -> list[type[CheckType[Any]]]:
    return [TlsCertCheck]
