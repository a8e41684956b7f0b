"""`domain_expiry` against an RDAP-shaped server on 127.0.0.1, found through a bootstrap
file in IANA's format (tests/data): days left, DEGRADED and DOWN thresholds, a domain the
registry does not know, a registry with no date, a busy one, and a TLD nobody serves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from statuscore import ConfigError, Status
from statuscore.testing import run_check, serve_app

BOOTSTRAP = (Path(__file__).parent / "data" / "rdap-bootstrap.json").read_text()


def registry(expiries: dict[str, datetime | None], calls: list[str], busy: set[str] = frozenset()) -> web.Application:
    app = web.Application()

    async def bootstrap(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        return web.Response(text=BOOTSTRAP.replace("RDAP_SERVER", base), content_type="application/json")

    async def domain(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        calls.append(f"{request.match_info['tld']}/{name}")
        if name in busy:
            return web.Response(status=429, text="slow down")
        if name not in expiries:
            return web.json_response({"errorCode": 404, "title": "Not Found"}, status=404)
        events = [{"eventAction": "registration", "eventDate": "1999-04-01T00:00:00Z"}]
        if expiries[name] is not None:
            events.append({"eventAction": "expiration", "eventDate": expiries[name].isoformat().replace("+00:00", "Z")})
        return web.json_response({"objectClassName": "domain", "ldhName": name, "events": events})

    app.router.add_get("/bootstrap.json", bootstrap)
    app.router.add_get("/{tld}/domain/{name}", domain)
    return app


def days(n: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=n)


async def test_days_left_and_the_thresholds():
    calls: list[str] = []
    expiries = {"sefaria.org": days(400.5), "soon.org": days(20.5), "very-soon.org": days(3.5), "gone.org": days(-2)}
    async with serve_app(registry(expiries, calls)) as base:
        keys = {"bootstrap_url": f"{base}/bootstrap.json"}
        fine = await run_check("domain_expiry", domain="sefaria.org", conditions=["days_left > 365"], **keys)
        soon = await run_check("domain_expiry", domain="soon.org", **keys)
        very = await run_check("domain_expiry", domain="very-soon.org", down_within="7d", **keys)
        gone = await run_check("domain_expiry", domain="gone.org", **keys)
    assert fine.status is Status.UP, fine.error
    assert (
        soon.status is Status.DEGRADED and soon.error.startswith("soon.org expires on ") and "in 20 days" in soon.error
    )
    assert very.status is Status.DOWN and "in 3 days" in very.error
    assert gone.status is Status.DOWN and gone.error.startswith("the registration of gone.org expired on ")
    assert calls == ["org/sefaria.org", "org/soon.org", "org/very-soon.org", "org/gone.org"]


async def test_the_longest_bootstrap_entry_wins():
    calls: list[str] = []
    async with serve_app(registry({"example.co.uk": days(100)}, calls)) as base:
        result = await run_check("domain_expiry", domain="example.co.uk", bootstrap_url=f"{base}/bootstrap.json")
    assert result.status is Status.UP, result.error
    assert calls == ["couk/example.co.uk"]  # co.uk's server, not uk's


async def test_what_the_registry_may_answer():
    calls: list[str] = []
    app = registry({"dateless.org": None}, calls, busy={"busy.org"})
    async with serve_app(app) as base:
        keys = {"bootstrap_url": f"{base}/bootstrap.json", "retries": 0}
        unknown = await run_check("domain_expiry", domain="never-registered.org", **keys)
        dateless = await run_check("domain_expiry", domain="dateless.org", **keys)
        busy = await run_check("domain_expiry", domain="busy.org", **keys)
        no_server = await run_check("domain_expiry", domain="sefaria.dev", **keys)
        direct = await run_check("domain_expiry", domain="dateless.org", rdap_url=f"{base}/org", **keys)
    assert unknown.status is Status.DOWN and "does not know it (HTTP 404)" in unknown.error
    assert dateless.status is Status.UNKNOWN and "publishes no expiration date" in dateless.error
    assert busy.status is Status.DOWN and busy.error == "the registry answered HTTP 429"
    assert no_server.error == "no RDAP server for .dev in the bootstrap file (set rdap_url)"
    assert direct.status is Status.UNKNOWN


async def test_an_internationalised_name_is_asked_in_its_ascii_form():
    calls: list[str] = []
    async with serve_app(registry({"xn--bcher-kva.org": days(90)}, calls)) as base:
        result = await run_check("domain_expiry", domain="bücher.org", bootstrap_url=f"{base}/bootstrap.json")
    assert result.status is Status.UP and calls == ["org/xn--bcher-kva.org"]


@pytest.mark.parametrize(
    ("keys", "key"),
    [
        ({"domain": "localhost"}, "domain"),
        ({"domain": "a..org"}, "domain"),
        ({"domain": "x" * 70 + ".org"}, "domain"),
        ({"domain": "sefaria.org", "down_within": "60d"}, "down_within"),
        ({"domain": "sefaria.org", "rdap_url": "ftp://rdap.example/"}, "rdap_url"),
        ({"domain": "sefaria.org", "bootstrap_url": "not a url"}, "bootstrap_url"),
    ],
)
async def test_mistakes_fail_at_load_naming_the_key(keys, key):
    with pytest.raises(ConfigError) as caught:
        await run_check("domain_expiry", **keys)
    assert caught.value.key == key, str(caught.value)
