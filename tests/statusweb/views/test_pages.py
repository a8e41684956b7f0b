"""Several status pages from one install (webtest, both databases): pages from
monitors.toml, `/pages/{slug}/` with every page route, custom domains from an allow-list,
private pages that answer 404 to everyone but their organization's members and holders
of the viewer password, and the default page at `/` exactly as before."""

from __future__ import annotations

import pytest

from statuscore import ConfigError, load_config
from tests.statusweb.pages import add_incident, sync_monitors_toml
from tests.statusweb.views.test_admin import add_user, login

TWO_ORGANIZATIONS = """
[[page]]
slug = "acme"
name = "Acme Status"
organization = "acme"
domain = "status.acme.test"
[[page]]
slug = "acme-internal"
name = "Acme Internal"
organization = "acme"
private = true
[[page]]
slug = "beta"
name = "Beta Status"
organization = "beta"
[[page]]
slug = "beta-internal"
name = "Beta Internal"
organization = "beta"
private = true
viewer_password = "${BETA_VIEWER_PASSWORD}"

[[monitor]]
name = "Sefaria Website"
url = "http://127.0.0.1:9/"
[[monitor]]
name = "Acme Shop"
url = "http://127.0.0.1:9/"
page = "acme"
[[monitor]]
name = "Acme Staging"
url = "http://127.0.0.1:9/"
page = "acme-internal"
[[monitor]]
name = "Beta API"
url = "http://127.0.0.1:9/"
page = "beta"
[[monitor]]
name = "Beta Build Farm"
url = "http://127.0.0.1:9/"
page = "beta-internal"
"""
VIEWER_PASSWORD = "partners only, please"
PRIVATE_PATHS = (
    "/",
    "/history",
    "/services/acme-staging",
    "/api/v2/summary.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/live",
    "/history.atom",
    "/history.rss",
    "/subscribe",
    "/badge/acme-staging/status.svg",
    "/api/v2/scheduled-maintenances.json",
    "/theme.css",
)


@pytest.fixture
def pages(engine, tmp_path):
    return sync_monitors_toml(
        engine, tmp_path / "monitors.toml", TWO_ORGANIZATIONS, env={"BETA_VIEWER_PASSWORD": VIEWER_PASSWORD}
    )


def member_of(engine, organization: str, name: str, role: str = "member") -> None:
    add_user(engine, name, role, organization=organization)


def names_on(answer) -> set[str]:
    return {h.text.strip() for h in answer.html.select(".service h3, .service h2, .service .name")} or {
        c["name"] for c in answer.json["components"]
    }


def test_each_page_shows_its_own_services_and_incidents(engine, pages, make_testapp):
    add_incident(engine, "Shop checkout failing", page_id=pages["acme"])
    default_incident = add_incident(engine, "Website slow")
    app = make_testapp()
    home = app.get("/")
    assert "Sefaria Website" in home.text and "Acme Shop" not in home.text and "Beta API" not in home.text
    assert "Website slow" in home.text and "Shop checkout failing" not in home.text
    acme = app.get("/pages/acme/")
    assert "Acme Shop" in acme.text and "Sefaria Website" not in acme.text and "Acme Staging" not in acme.text
    assert "Shop checkout failing" in acme.text and "Website slow" not in acme.text
    assert acme.html.select_one("header .brand").text.strip() == "Acme Status"
    assert acme.html.select_one("header nav a")["href"].startswith("/pages/acme/")  # links stay on the page
    summary = app.get("/pages/acme/api/v2/summary.json").json
    assert [c["name"] for c in summary["components"]] == ["Acme Shop"]
    assert summary["page"]["name"] == "Acme Status" and summary["page"]["url"].endswith("/pages/acme/")
    assert [c["name"] for c in app.get("/api/v2/components.json").json["components"]] == ["Sefaria Website"]
    app.get(f"/pages/acme/incidents/{default_incident}", status=404)  # another page's incident
    app.get("/pages/acme/services/sefaria-website", status=404)
    app.get("/services/acme-shop", status=404)
    assert "Shop checkout failing" in app.get("/pages/acme/history.atom").text
    assert "Shop checkout failing" not in app.get("/history.atom").text
    app.get("/pages/acme/badge/acme-shop/status.svg", status=200)
    app.get("/badge/acme-shop/status.svg", status=404)


def test_a_private_page_is_not_there_for_strangers(engine, pages, make_testapp):
    app = make_testapp()
    nothing = app.get("/pages/no-such-page/", status=404)
    for path in PRIVATE_PATHS:
        answer = app.get(f"/pages/acme-internal{path}", status=404)
        if path == "/":
            assert answer.text == nothing.text  # the same as a page that does not exist
    app.get("/badge/acme-staging/status.svg", status=404)  # nor on the default page
    assert "Acme Staging" not in app.get("/api/v2/summary.json").text


def test_members_see_their_organizations_private_pages_only(engine, pages, make_testapp):
    member_of(engine, "acme", "ann")
    app = make_testapp()
    login(app, "ann")
    internal = app.get("/pages/acme-internal/")
    assert "Acme Staging" in internal.text and "private" in internal.headers["Cache-Control"]
    assert [c["name"] for c in app.get("/pages/acme-internal/api/v2/components.json").json["components"]] == [
        "Acme Staging"
    ]
    app.get("/pages/acme-internal/badge/acme-staging/status.svg", status=404)  # badges of private services: never
    app.get("/pages/beta-internal/", status=404)  # another organization's
    stranger = make_testapp(**{"statusweb.page_cache_seconds": "30"})
    cached = make_testapp(**{"statusweb.page_cache_seconds": "30"})
    login(cached, "ann")
    cached.get("/pages/acme-internal/")  # now in that app's page cache...
    stranger.get("/pages/acme-internal/", status=404)  # ...but nobody else's to take


def test_a_viewer_password_opens_one_private_page(engine, pages, make_testapp):
    app = make_testapp()
    form = app.get("/pages/beta-internal/access").forms[0]
    form["password"] = "guess"
    wrong = form.submit(status=400)
    assert "That password does not open this page." in wrong.text
    nowhere = app.get("/pages/no-such-page/access")  # the same form where there is no page
    private = app.get("/pages/beta-internal/access")
    assert nowhere.text.replace("no-such-page", "beta-internal") == private.text  # not even the name differs
    assert "Beta Internal" not in app.get("/pages/beta-internal/access").text
    form = nowhere.forms[0]
    form["password"] = VIEWER_PASSWORD
    assert form.submit(status=400).text.count("That password does not open this page.") == 1
    form = app.get("/pages/beta-internal/access").forms[0]
    form["password"] = VIEWER_PASSWORD
    assert form.submit(status=303).location.endswith("/pages/beta-internal/")
    assert "Beta Build Farm" in app.get("/pages/beta-internal/").text
    app.get("/pages/acme-internal/", status=404)  # one page, not every private page
    app.get("/pages/beta-internal/access", status=200)
    app.get("/pages/acme/access", status=303)  # a public page needs nothing


def test_a_custom_domain_serves_its_page_at_the_root_and_unknown_hosts_never_appear(engine, pages, make_testapp):
    app = make_testapp()
    acme = app.get("/", headers={"Host": "status.acme.test"})
    assert "Acme Shop" in acme.text and "Sefaria Website" not in acme.text
    assert app.get("/api/v2/summary.json", headers={"Host": "status.acme.test"}).json["page"]["url"] == (
        "http://status.acme.test/"
    )
    app.get("/admin/login", headers={"Host": "status.acme.test"}, status=404)  # the admin is at the main address
    evil = app.get("/", headers={"Host": "evil.example", "X-Forwarded-Host": "status.acme.test"})
    assert "Sefaria Website" in evil.text and "evil.example" not in evil.text and "acme.test" not in evil.text


def test_pages_are_cached_apart(engine, pages, make_testapp):
    app = make_testapp(**{"statusweb.page_cache_seconds": "30"})
    default, acme = app.get("/"), app.get("/pages/acme/")
    domain = app.get("/", headers={"Host": "status.acme.test"})
    assert default.headers["ETag"] != acme.headers["ETag"] != domain.headers["ETag"]
    assert "Acme Shop" in app.get("/pages/acme/").text and "Acme Shop" not in app.get("/").text
    live = app.get("/pages/acme/api/live")
    app.get("/pages/acme/api/live", headers={"If-None-Match": live.headers["ETag"]}, status=304)


@pytest.mark.parametrize(
    "path",
    [
        "/pages/%00/",
        "/pages/" + "a" * 5000 + "/",
        "/pages/%C3%BCn%C3%AF/",
        "/pages//",
        "/pages/acme/admin",
        "/pages/acme/admin/incidents",
        "/pages/acme/metrics",
        "/pages/acme/healthz",
        "/pages/acme/api/push/" + "x" * 30,
        "/pages/default/",
        "/pages/acme/pages/acme/",
        "/pages/-1/",
        "/pages/ACME/",
    ],
)
def test_hostile_page_paths_get_404(engine, pages, make_testapp, path):
    make_testapp().get(path, status=404)


def test_the_single_page_install_is_unchanged(engine, tmp_path, make_testapp):
    sync_monitors_toml(
        engine, tmp_path / "monitors.toml", '[[monitor]]\nname = "Website"\nurl = "http://127.0.0.1:9/"\n'
    )
    app = make_testapp()
    home = app.get("/")
    assert "Website" in home.text and home.html.select_one("header .brand").text.strip() == "Status"
    assert home.html.select_one("header nav a")["href"] == "/subscribe"
    assert app.get("/api/v2/summary.json").json["page"]["url"] == "http://localhost"
    app.get("/pages/default/", status=404)


def test_a_monitor_on_an_undeclared_page_is_named_with_file_monitor_and_key(tmp_path):
    path = tmp_path / "monitors.toml"
    path.write_text('[[monitor]]\nname = "Staging"\nurl = "http://127.0.0.1:9/"\npage = "internl"\n')
    with pytest.raises(ConfigError) as raised:
        load_config(path, env={})
    assert raised.value.monitor == "Staging" and raised.value.key == "page" and str(path) in str(raised.value)
    path.write_text('[[page]]\nslug = "Bad Slug"\n')
    with pytest.raises(ConfigError) as raised:
        load_config(path, env={})
    assert raised.value.key == "page[0].slug"
    path.write_text('[[page]]\nslug = "a"\ndomain = "https://x.test/"\n')
    with pytest.raises(ConfigError, match="host name"):
        load_config(path, env={})


def test_public_requests_are_limited_per_client_and_page_and_per_page(engine, pages, make_testapp):
    app = make_testapp(
        **{"statusweb.rate_per_client": "5", "statusweb.rate_per_page": "8", "statusweb.page_cache_seconds": "30"}
    )
    me, other = {"REMOTE_ADDR": "192.0.2.1"}, {"REMOTE_ADDR": "192.0.2.2"}
    for _ in range(5):
        app.get("/", extra_environ=me)  # cached after the first: still counted
    refused = app.get("/", extra_environ=me, status=429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 13 and "no-store" in refused.headers["Cache-Control"]
    assert app.get("/api/v2/summary.json", extra_environ=me, status=429).json["error"]["status"] == 429
    app.get("/static/status.css", extra_environ=me, status=200)  # files are not limited
    app.get("/pages/acme/", extra_environ=me, status=200)  # another page: its own budget
    app.get("/", extra_environ=other, status=200)  # another reader
    app.get("/", extra_environ=other, status=200)
    app.get("/", extra_environ={"REMOTE_ADDR": "192.0.2.3"}, status=200)
    app.get("/", extra_environ={"REMOTE_ADDR": "192.0.2.4"}, status=429)  # the page's own limit: 8 a minute
    app.get("/pages/acme/", extra_environ={"REMOTE_ADDR": "192.0.2.4"}, status=200)
    app.get("/admin/login", extra_environ=me, status=200)  # the admin is not a public page
