"""Behind Cloudflare (issue 35, point 2), as the app meets it through the same WSGI edge
waitress runs (statusweb.server.trust_proxy), on webtest: CF-Connecting-IP is the visitor
only when Cloudflare's own address (or a local proxy relaying Cloudflare) sent it, so the
per-client rate limit counts real visitors and a spoofed header counts against its
sender; the ranges are refreshed from a local server shaped like cloudflare.com; and
public answers carry CDN-friendly Cache-Control while the admin and /api/v1 never do."""

from __future__ import annotations

import pytest
from aiohttp import web

from statuscore.testing import serve_app
from statusweb.settings import Settings, SettingsError
from tests.test_deployment import statusweb_admin

EDGE, OTHER_EDGE = "104.16.0.7", "2606:4700::6810:1"  # inside Cloudflare's published ranges
LOCAL_PROXY = "172.18.0.5"  # Coolify's Traefik, on the compose network


@pytest.fixture
def behind_cloudflare(engine, make_testapp):
    from webtest import TestApp

    from statusweb.server import trust_proxy

    def build(trusted: str = "cloudflare,172.18.0.0/16", per_client: int = 2):
        plain = make_testapp(**{"statusweb.rate_per_client": str(per_client)})
        edge, settings = trust_proxy(plain.app, {"trusted_proxy": "127.0.0.1"}, trusted)
        assert "trusted_proxy" not in settings  # waitress's own trust is off: the edge decides
        return TestApp(edge)

    return build


def visit(app, peer: str, status: int = 200, **headers: str):
    return app.get("/api/v2/status.json", headers=headers, extra_environ={"REMOTE_ADDR": peer}, status=status)


def test_cloudflares_visitor_is_counted_not_cloudflare(behind_cloudflare):
    app = behind_cloudflare()
    for number in range(6):  # six visitors through one Cloudflare address: none is limited
        visit(app, EDGE, **{"CF-Connecting-IP": f"203.0.113.{number}"})
    visit(app, OTHER_EDGE, **{"CF-Connecting-IP": "203.0.113.0"}, status=200)  # that visitor's second
    visit(app, EDGE, **{"CF-Connecting-IP": "203.0.113.0"}, status=429)  # and third: over the limit of 2


def test_a_spoofed_header_from_anyone_else_counts_against_its_sender(behind_cloudflare):
    app = behind_cloudflare()
    for number in range(2):
        visit(app, "198.51.100.7", **{"CF-Connecting-IP": f"203.0.113.{number}", "X-Forwarded-For": "1.2.3.4"})
    visit(app, "198.51.100.7", **{"CF-Connecting-IP": "203.0.113.99"}, status=429)
    visit(app, EDGE, **{"CF-Connecting-IP": "198.51.100.8"})  # others are not limited by it


def test_through_a_local_proxy_the_hop_before_it_decides(behind_cloudflare):
    app = behind_cloudflare(per_client=1)
    via_cloudflare = {"X-Forwarded-For": f"203.0.113.20, {EDGE}", "CF-Connecting-IP": "203.0.113.20"}
    visit(app, LOCAL_PROXY, **via_cloudflare)
    visit(app, LOCAL_PROXY, **via_cloudflare, status=429)  # the same visitor again
    direct = {"X-Forwarded-For": "198.51.100.30", "CF-Connecting-IP": "203.0.113.21"}  # not through Cloudflare
    visit(app, LOCAL_PROXY, **direct)
    visit(app, LOCAL_PROXY, **{**direct, "CF-Connecting-IP": "203.0.113.22"}, status=429)  # it is 198.51.100.30
    visit(app, LOCAL_PROXY, **{"CF-Connecting-IP": "203.0.113.23", "X-Forwarded-For": "not an address"})


@pytest.mark.parametrize("value", ["cloudflare", "Cloudflare", "cloudflare,172.16.0.0/12", "cloudflare, 10.0.0.7"])
def test_the_setting_takes_cloudflare_with_a_local_proxy(value):
    assert Settings.from_settings({"sqlalchemy.url": "sqlite://", "statusweb.trusted_proxy": value}).trusted_proxy


@pytest.mark.parametrize("value", ["cloudflare,nope", "10.0.0.1,10.0.0.2", "cloudflare,*", "cloud flare"])
def test_a_bad_setting_names_the_variable(value):
    with pytest.raises(SettingsError, match="STATUSWEB_TRUSTED_PROXY"):
        Settings.from_settings({"sqlalchemy.url": "sqlite://", "statusweb.trusted_proxy": value})


async def test_the_ranges_are_refreshed_from_cloudflares_lists_and_checked_first(tmp_path):
    from statusweb.edge.cloudflare import RANGES_FILE, read_ranges

    lists = {"/ips-v4": "173.245.48.0/20\n198.51.100.0/24\n", "/ips-v6": "2400:cb00::/32\n"}
    app = web.Application()
    app.router.add_get("/{name}", lambda request: web.Response(text=lists[request.path]))
    ranges = tmp_path / "cloudflare-ips.txt"
    ranges.write_text(RANGES_FILE.read_text())
    async with serve_app(app) as base:

        def refresh():
            return statusweb_admin("cloudflare-ips", "refresh", "--from", base, "--file", str(ranges), timeout=60)

        import asyncio

        done = await asyncio.to_thread(refresh)
        assert done.returncode == 0, done.stderr
        assert "wrote 3 ranges" in done.stdout and "1 new" in done.stdout and "(new: 198.51.100.0/24)" in done.stdout
        assert [str(n) for n in read_ranges(ranges)] == ["173.245.48.0/20", "198.51.100.0/24", "2400:cb00::/32"]
        assert "as of 20" in ranges.read_text().splitlines()[0]
        before = ranges.read_text()
        lists["/ips-v6"] = "<html>Sorry, you have been blocked</html>"
        refused = await asyncio.to_thread(refresh)
        assert refused.returncode == 2 and "not a list of networks" in refused.stderr
        assert ranges.read_text() == before  # nothing written from a bad answer
    assert len(read_ranges()) >= 20  # the shipped list


def test_public_answers_suit_a_cdn_and_the_admin_and_api_are_never_kept(engine, make_testapp):
    app = make_testapp(**{"statusweb.page_cache_seconds": "30"})
    control = app.get("/").headers["Cache-Control"]
    assert control.startswith("public, max-age=") and "s-maxage=" in control
    assert "stale-while-revalidate=" in control and "stale-if-error=86400" in control
    assert app.get("/admin/login").headers["Cache-Control"] == "no-store"
    assert app.get("/api/v1/incidents", status=401).headers["Cache-Control"] == "no-store"
