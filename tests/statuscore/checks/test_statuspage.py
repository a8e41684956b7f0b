"""The `statuspage` check type: a vendor's summary.json, as GitHub, Cloudflare and Stripe
publish it (recorded in tests/data/statuspage), served on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from statuscore import ConfigError, Status, check, make_monitor
from tests.targets import VendorPages


@pytest.fixture
async def vendors():
    pages = VendorPages()
    async with pages.running() as base:
        yield base, pages


def vendor(url: str, **options):
    options.setdefault("retries", 0)
    return make_monitor(name=options.pop("name", "GitHub"), type="statuspage", url=url, **options)


async def test_an_operational_page_is_up_and_a_minor_one_degraded_with_what_the_vendor_says(vendors):
    base, pages = vendors
    stripe = await check(vendor(f"{base}/stripe", name="Stripe"))
    assert stripe.status is Status.UP, stripe.error
    github = await check(vendor(f"{base}/github/"))
    assert github.status is Status.DEGRADED
    assert github.error == (
        "GitHub reports Minor Service Outage: Actions (degraded performance); "
        "incident: 'Incident with Actions' (investigating)"
    )
    assert pages.requests == ["/stripe/api/v2/summary.json", "/github/api/v2/summary.json"]


async def test_a_major_indicator_is_down(vendors):
    base, pages = vendors
    pages.set_status("github", "page", "major")
    result = await check(vendor(f"{base}/github/api/v2/summary.json"))
    assert result.status is Status.DOWN
    assert result.error.startswith("GitHub reports Minor Service Outage: Actions")


async def test_one_component_by_name_id_or_group(vendors):
    base, pages = vendors
    git = await check(vendor(f"{base}/github", component="git operations"))
    assert git.status is Status.UP
    actions = await check(vendor(f"{base}/github", component="br0l2tvcx85d"))
    assert actions.status is Status.DEGRADED
    assert actions.error == (
        "GitHub reports Actions: degraded performance; incident: 'Incident with Actions' (investigating)"
    )
    # Cloudflare has two components named API: the group tells them apart
    ambiguous = await check(vendor(f"{base}/cloudflare", component="API"))
    assert ambiguous.status is Status.DOWN
    assert ambiguous.error == (
        "2 components are named 'API': write one of Cloudflare Sites and Services / API, Europe / API, or its id"
    )
    europe = await check(vendor(f"{base}/cloudflare", component="Europe / API"))
    assert europe.status is Status.DOWN
    assert europe.error == "Cloudflare reports API: major outage"
    sites = await check(vendor(f"{base}/cloudflare", component="Cloudflare Sites and Services / API"))
    assert sites.status is Status.UP
    ashburn = await check(vendor(f"{base}/cloudflare", component="Ashburn, VA, United States - (IAD)"))
    assert ashburn.status is Status.DEGRADED
    assert ashburn.error == "Cloudflare reports Ashburn, VA, United States - (IAD): under maintenance"
    group = await check(vendor(f"{base}/cloudflare", component="North America"))
    assert group.status is Status.DEGRADED


async def test_down_on_decides_which_statuses_are_down(vendors):
    base, pages = vendors
    pages.set_status("stripe", "Checkout", "partial_outage")
    default = await check(vendor(f"{base}/stripe", name="Stripe", component="Checkout"))
    assert default.status is Status.DEGRADED
    strict = await check(
        vendor(f"{base}/stripe", name="Stripe", component="Checkout", down_on=["partial_outage", "major_outage"])
    )
    assert strict.status is Status.DOWN
    assert strict.error == "Stripe reports Checkout: partial outage"


async def test_a_renamed_component_is_down_naming_what_the_page_has(vendors):
    base, _ = vendors
    result = await check(vendor(f"{base}/stripe", name="Stripe", component="Payments"))
    assert result.status is Status.DOWN
    assert result.error == "no component named 'Payments' on this page (it has: API, Checkout, Dashboard, Webhooks)"


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("html", "not a Statuspage summary.json (no JSON object)"),
        ("shape", "not a Statuspage summary.json (no status.indicator, got '')"),
        ("error", "HTTP 503 Service Unavailable (expected 200)"),
        ("endless", "not a Statuspage summary.json (no JSON object, cut at max_body_bytes (4194304 bytes))"),
    ],
)
async def test_a_broken_vendor_answer_is_down_with_a_reason_in_time(vendors, kind, error):
    base, _ = vendors
    started = time.monotonic()
    result = await check(vendor(f"{base}/broken/{kind}.json", timeout="5s"))
    assert time.monotonic() - started < 5
    assert result.status is Status.DOWN
    assert result.error == error


async def test_a_vendors_control_characters_never_reach_a_reason(vendors):
    base, _ = vendors
    whole = await check(vendor(f"{base}/broken/control.json"))
    assert whole.error == "Evil Corp reports Down  now: API  X-Injected: 1 [31m (major outage)"
    one = await check(vendor(f"{base}/broken/control.json", component="a"))
    assert one.status is Status.DOWN
    for text in (whole.error, one.error):
        assert text.isprintable()


async def test_a_missing_vendor_is_down(vendors):
    base, _ = vendors
    result = await check(vendor(f"{base}/nobody"))
    assert result.status is Status.DOWN
    assert result.error == "HTTP 404 Not Found (expected 200)"


def test_third_party_defaults_and_what_the_file_may_change():
    plain = vendor("https://www.githubstatus.com")
    assert (plain.group, plain.notify, plain.third_party) == ("Third-party", False, True)
    assert plain.options.summary_url.human_repr() == "https://www.githubstatus.com/api/v2/summary.json"
    chosen = vendor("https://www.githubstatus.com", group="Vendors", notify=True)
    assert (chosen.group, chosen.notify) == ("Vendors", True)
    http = make_monitor(name="Site", url="https://www.sefaria.org")
    assert (http.group, http.notify, http.third_party) == ("", True, False)


@pytest.mark.parametrize(
    ("options", "key", "message"),
    [
        ({"url": "ftp://status.example.com"}, "url", "expected an http:// or https:// URL"),
        ({"url": "https://x.example/\r\nHost: evil"}, "url", "control character"),
        ({"component": "API\r\n"}, "component", "printable"),
        ({"component": "x" * 201}, "component", "at most 200"),
        ({"down_on": ["broken"]}, "down_on[0]", "'broken' is no Statuspage status"),
        ({"notify": "yes"}, "notify", ""),
    ],
)
def test_bad_options_name_the_key(options, key, message):
    options.setdefault("url", "https://www.githubstatus.com")
    with pytest.raises(ConfigError) as raised:
        make_monitor(name="GitHub", type="statuspage", **options)
    assert raised.value.key == key
    assert message in raised.value.message
