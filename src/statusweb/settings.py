"""Settings: the ini's [app:main], overridden by the environment, converted to types once.

Environment variables win over the ini (warehouse's `maybe_set` pattern), so one
production.ini serves every deployment and secrets never sit in a file. `Settings` is
built once in `main()` and kept on the registry; a bad value stops the app at start
with one line naming the variable or key.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from statuscore import REGION_PATTERN
from statusweb.models.cluster import DEFAULT_REGION

log = logging.getLogger("statusweb.settings")

# variable -> settings key; every environment variable the app reads, in one table.
ENVIRONMENT_OVERRIDES = {
    "DATABASE_URL": "sqlalchemy.url",
    "STATUSCORE_MONITORS": "statuscore.monitors",
    "STATUS_PAGE_URL": "statusweb.page_url",
    "STATUSWEB_PAGE_NAME": "statusweb.page_name",
    "STATUSWEB_LOGO_URL": "statusweb.logo_url",
    "STATUSWEB_ACCENT_COLOR": "statusweb.accent_color",
    "STATUSWEB_RATE_PER_CLIENT": "statusweb.rate_per_client",
    "STATUSWEB_RATE_PER_PAGE": "statusweb.rate_per_page",
    "STATUSWEB_SMTP_URL": "statusweb.smtp_url",  # subscribers' mail; never logged
    "STATUSWEB_MAIL_FROM": "statusweb.mail_from",
    "HEALTH_CHECK_RETENTION_DAYS": "statusweb.retention_days",
    "STATUSWEB_SECRET": "statusweb.secret",
    "STATUSWEB_RUNNER": "statusweb.runner",
    "STATUSWEB_METRICS_TOKEN": "statusweb.metrics_token",
    "STATUSWEB_TRUSTED_PROXY": "statusweb.trusted_proxy",  # read by statusweb.server too
    "STATUSWEB_REGION": "statusweb.region",  # where this runner checks from (runners sharing PostgreSQL)
    "STATUSWEB_SPOOL_DIR": "statusweb.spool_dir",  # the runner's local spool during a database outage
    "STATUSWEB_DNS_RESOLVER": "statusweb.dns_resolver",  # proving page domains: host[:port] ("" the system's)
    "STATUSWEB_OIDC_ISSUER": "statusweb.oidc_issuer",  # sign in with OpenID Connect (services/oidc.py)
    "STATUSWEB_OIDC_CLIENT_ID": "statusweb.oidc_client_id",
    "STATUSWEB_OIDC_CLIENT_SECRET": "statusweb.oidc_client_secret",  # never logged
    "STATUSWEB_OIDC_AUTO_CREATE": "statusweb.oidc_auto_create",
    "STATUSWEB_OIDC_EMAIL_DOMAINS": "statusweb.oidc_email_domains",
    "STATUSWEB_OIDC_LABEL": "statusweb.oidc_label",
    "STATUSWEB_PASSWORD_LOGIN": "statusweb.password_login",  # false: only the provider signs people in
    "STATUSWEB_SLACK_SIGNING_SECRET": "statusweb.slack_signing_secret",  # the /status command (api/slack_command.py)
    "STATUSWEB_SLACK_PAGE": "statusweb.slack_page",
    "STATUSWEB_SLACK_TEAM": "statusweb.slack_team",
}

if TYPE_CHECKING:
    from statusweb.services.oidc import OidcSettings

MIN_SECRET_LENGTH = 32
DEFAULT_PAGE_URL = "http://localhost:6543"
MAX_REQUEST_BODY_BYTES = 1024 * 1024


class SettingsError(ValueError):
    """A setting that would make the app unsafe or unusable; the message names it."""


def apply_environment(settings: Mapping[str, Any], env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A copy of `settings` with every set environment override applied."""
    env = os.environ if env is None else env
    merged = dict(settings)
    for variable, key in ENVIRONMENT_OVERRIDES.items():
        if env.get(variable):
            merged[key] = env[variable]
    if merged.get("sqlalchemy.url"):
        merged["sqlalchemy.url"] = normalize_database_url(merged["sqlalchemy.url"])
    return merged


def normalize_database_url(url: str) -> str:
    """`postgres://` and `postgresql://` (as Heroku-style hosts hand them out) mean
    PostgreSQL through psycopg 3, the driver this app ships with."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def as_bool(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """What the web app reads, typed. Build with `Settings.from_settings`."""

    database_url: str
    page_url: str
    page_name: str = "Status"
    logo_url: str = ""  # https://... or /static/...: shown beside the page name
    accent_color: str = "#1d4ed8"  # links, focus rings and buttons: #rrggbb
    page_id: str = "statusweb"
    secret: str = ""
    secure_cookies: bool = False
    hsts: bool = False
    page_cache_seconds: float = 5.0
    page_cache_bytes: int = 64 * 1024 * 1024
    history_seconds: float = 60.0  # how long a service's 90-day figures and bars are kept (0: never)
    live_poll_seconds: float = 2.0  # how often an open page asks /api/live whether it changed
    login_attempts: int = 5
    # public pages: requests a minute per client address and page, and per page from everyone (0: no limit)
    rate_per_client: int = 600
    rate_per_page: int = 60_000
    login_window_seconds: float = 900.0
    metrics_public: bool = False
    metrics_token: str = ""
    metrics_cache_seconds: float = 5.0
    heartbeat_interval: float = 10.0
    runner: bool = False
    demo_targets: bool = False
    here: str = "."
    max_request_body_bytes: int = MAX_REQUEST_BODY_BYTES
    trusted_proxy: str = ""
    private_webhooks: bool = False  # subscriber webhooks may point at private addresses
    dns_resolver: tuple[str, int] | None = None  # where page domains' TXT records are looked up (None: the system's)
    oidc: OidcSettings | None = None  # sign in with OpenID Connect (None: not offered)
    password_login: bool = True
    slack_signing_secret: str = field(default="", repr=False)  # "" : no Slack slash command
    slack_page: str = "default"  # the page the slash command acts on
    slack_team: str = ""  # the Slack workspace (team id) it takes commands from ("": any)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Settings:
        """Typed settings, or SettingsError naming the variable that is wrong."""
        url = settings.get("sqlalchemy.url")
        if not url:
            raise SettingsError("no database: set DATABASE_URL (or sqlalchemy.url in the ini's [app:main])")
        secure = as_bool(settings.get("statusweb.secure_cookies", "false"))
        secret = str(settings.get("statusweb.secret") or "")
        if secure and len(secret) < MIN_SECRET_LENGTH:
            problem = "is not set" if not secret else f"is {len(secret)} characters long"
            raise SettingsError(
                f"STATUSWEB_SECRET {problem}: with secure cookies (production) it must be "
                f"at least {MIN_SECRET_LENGTH} random characters, e.g. "
                f"`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return cls(
            database_url=url,
            page_url=_page_url(settings),
            page_name=str(settings.get("statusweb.page_name") or "Status")[:100],
            logo_url=_logo_url(settings),
            private_webhooks=as_bool(settings.get("statusweb.private_webhooks", "false")),
            accent_color=_accent_color(settings),
            page_id=str(settings.get("statusweb.page_id") or "statusweb"),
            secret=secret,
            secure_cookies=secure,
            hsts=as_bool(settings.get("statusweb.hsts", "false")),
            page_cache_seconds=_number(settings, "statusweb.page_cache_seconds", 5.0),
            page_cache_bytes=int(_number(settings, "statusweb.page_cache_bytes", 64 * 1024 * 1024)),
            history_seconds=max(0.0, _number(settings, "statusweb.history_seconds", 60.0)),
            live_poll_seconds=max(1.0, _number(settings, "statusweb.live_poll_seconds", 2.0)),
            login_attempts=int(_number(settings, "statusweb.login_attempts", 5)),
            rate_per_client=max(0, int(_number(settings, "statusweb.rate_per_client", 600))),
            rate_per_page=max(0, int(_number(settings, "statusweb.rate_per_page", 60_000))),
            login_window_seconds=_number(settings, "statusweb.login_window_seconds", 900.0),
            metrics_public=as_bool(settings.get("statusweb.metrics_public", "false")),
            metrics_token=str(settings.get("statusweb.metrics_token") or ""),
            metrics_cache_seconds=_number(settings, "statusweb.metrics_cache_seconds", 5.0),
            heartbeat_interval=_number(settings, "statusweb.heartbeat_interval", 10.0),
            runner=as_bool(settings.get("statusweb.runner", "false")),
            demo_targets=as_bool(settings.get("statusweb.demo_targets", "false")),
            here=str(settings.get("statusweb.here", ".")),
            trusted_proxy=check_trusted_proxy(str(settings.get("statusweb.trusted_proxy") or "")),
            dns_resolver=_dns_resolver(settings),
            **_sign_in(settings),
            slack_signing_secret=str(settings.get("statusweb.slack_signing_secret") or "").strip(),
            slack_page=str(settings.get("statusweb.slack_page") or "default").strip()[:63],
            slack_team=str(settings.get("statusweb.slack_team") or "").strip()[:40],
        )


def _sign_in(settings: Mapping[str, Any]) -> dict[str, Any]:
    """OpenID Connect and whether passwords still sign in (not both off: nobody could)."""
    from statusweb.services.oidc import OidcSettings

    names = ("issuer", "client_id", "client_secret", "auto_create", "email_domains", "label")
    try:
        oidc = OidcSettings.read({name: str(settings.get(f"statusweb.oidc_{name}") or "") for name in names})
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    password_login = as_bool(settings.get("statusweb.password_login", "true"))
    if not password_login and oidc is None:
        raise SettingsError(
            "STATUSWEB_PASSWORD_LOGIN is false but STATUSWEB_OIDC_ISSUER is not set: nobody could sign in"
        )
    return {"oidc": oidc, "password_login": password_login}


def _dns_resolver(settings: Mapping[str, Any]) -> tuple[str, int] | None:
    from statusweb.services.domain_checks import parse_resolver

    try:
        return parse_resolver(str(settings.get("statusweb.dns_resolver") or ""))
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def check_trusted_proxy(value: str) -> str:
    """STATUSWEB_TRUSTED_PROXY: "" (the ini decides), "*", an address or a network, or
    "cloudflare" with, after a comma, the address or network of a local proxy in between."""
    value = value.strip()
    if value in ("", "*"):
        return value
    items = [item.strip() for item in value.split(",")]
    rest = [item for item in items if item.lower() != "cloudflare"]
    if len(items) > 1 and len(rest) == len(items):
        raise SettingsError(
            f"STATUSWEB_TRUSTED_PROXY: a list is for cloudflare and a local proxy "
            f"(cloudflare,172.16.0.0/12); got {value!r}"
        )
    for item in rest:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingsError(
                f"STATUSWEB_TRUSTED_PROXY must be an address, a network like 172.18.0.0/16, "
                f"*, or cloudflare (with a local proxy's address: cloudflare,172.18.0.0/16); "
                f"got {value!r}"
            ) from None
    return value


def _page_url(settings: Mapping[str, Any]) -> str:
    """The public URL every absolute link is built from (never the request's Host)."""
    raw = str(settings.get("statusweb.page_url") or "").strip().rstrip("/")
    if not raw:
        log.warning(
            "STATUS_PAGE_URL is not set: absolute links (feeds, API, alerts) say %s; set it to the address people use",
            DEFAULT_PAGE_URL,
        )
        return DEFAULT_PAGE_URL
    parts = urlsplit(raw)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise SettingsError(
            f"STATUS_PAGE_URL must be an http:// or https:// address like https://status.example.org, got {raw!r}"
        )
    return raw


def _logo_url(settings: Mapping[str, Any]) -> str:
    raw = str(settings.get("statusweb.logo_url") or "").strip()
    parts = urlsplit(raw)
    if raw and not (
        parts.scheme == "https"
        and parts.hostname
        and not parts.username
        and not parts.password
        or raw.startswith("/")
        and not raw.startswith("//")
    ):
        raise SettingsError(f"STATUSWEB_LOGO_URL must be an https:// address or a path on this site, got {raw!r}")
    if any(c in raw for c in "\"' <>"):
        raise SettingsError("STATUSWEB_LOGO_URL may not hold quotes, spaces or angle brackets")
    return raw


def _accent_color(settings: Mapping[str, Any]) -> str:
    raw = str(settings.get("statusweb.accent_color") or "#1d4ed8").strip()
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", raw):
        raise SettingsError(f"STATUSWEB_ACCENT_COLOR must be a colour like #1d4ed8, got {raw!r}")
    return raw.lower()


def named(key: str) -> str:
    """A setting as an operator knows it: the ini key, and the variable that overrides it."""
    variables = [variable for variable, overridden in ENVIRONMENT_OVERRIDES.items() if overridden == key]
    return f"{key} ({variables[0]})" if variables else key


def _number(settings: Mapping[str, Any], key: str, default: float) -> float:
    raw = settings.get(key)
    if raw is None or str(raw).strip() == "":
        return default
    if not re.fullmatch(r"\d+(\.\d+)?", str(raw).strip()):
        raise SettingsError(f"{named(key)} must be a number, got {str(raw)[:60]!r}")
    return float(raw)


@dataclass(frozen=True)
class RunnerSettings:
    database_url: str
    monitors_path: str
    retention_days: int = 60
    heartbeat_interval: float = 10.0
    cleanup_hour_utc: int = 3
    duty_interval: float = 1.0  # how often "check now" requests and maintenance windows are looked at
    sla_interval: float = 300.0  # how often SLA figures are compared with their targets
    smtp_url: str = ""  # subscribers' mail (STATUSWEB_SMTP_URL); "" = email subscriptions wait
    mail_from: str = ""
    page_url: str = DEFAULT_PAGE_URL
    page_name: str = "Status"
    private_webhooks: bool = False  # subscriber webhooks may call private addresses (tests, closed networks)
    region: str = DEFAULT_REGION  # with PostgreSQL, runners of one region share its monitors through leases
    spool_dir: str = "var/spool"  # what a database outage keeps from being written waits here (a local file)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], here: str = ".") -> RunnerSettings:
        """Typed settings, or SettingsError naming the variable that is wrong."""
        url = settings.get("sqlalchemy.url")
        if not url:
            raise SettingsError("no database: set DATABASE_URL (or sqlalchemy.url in the ini's [app:main])")
        monitors = settings.get("statuscore.monitors")
        if not monitors:
            raise SettingsError(
                "no monitors: set STATUSCORE_MONITORS (or statuscore.monitors in the ini's [app:main]) "
                "to the path of a monitors.toml"
            )
        path = Path(monitors)
        if not path.is_absolute():
            path = Path(here) / path
        return cls(
            database_url=url,
            monitors_path=str(path),
            retention_days=int(_number(settings, "statusweb.retention_days", 60)),
            heartbeat_interval=_number(settings, "statusweb.heartbeat_interval", 10.0),
            smtp_url=str(settings.get("statusweb.smtp_url") or ""),
            mail_from=str(settings.get("statusweb.mail_from") or ""),
            page_url=str(settings.get("statusweb.page_url") or DEFAULT_PAGE_URL).rstrip("/"),
            page_name=str(settings.get("statusweb.page_name") or "Status")[:100],
            private_webhooks=as_bool(settings.get("statusweb.private_webhooks", "false")),
            region=_region(settings.get("statusweb.region")),
            spool_dir=str(Path(here) / str(settings.get("statusweb.spool_dir") or "var/spool")),
        )


def _region(raw: Any) -> str:
    region = str(raw or DEFAULT_REGION).strip()
    if not re.fullmatch(REGION_PATTERN, region):
        raise SettingsError(
            f"{named('statusweb.region')} must be a short name of a-z, 0-9, '-' and '_', got {region[:60]!r}"
        )
    return region


def load_ini_settings(config_uri: str) -> tuple[dict[str, Any], str]:
    """[app:main] of an ini (with %(here)s filled), environment applied; and its folder."""
    from pyramid.paster import get_appsettings

    here = str(Path(config_uri.split("#")[0]).resolve().parent)
    return apply_environment(get_appsettings(config_uri)), here
