"""`dns` against an authoritative server on 127.0.0.1 (statuscore.testing_dns): answers,
conditions on them, NXDOMAIN, SERVFAIL, a resolver that never answers, DNSSEC's flag."""

from __future__ import annotations

import pytest

from statuscore import ConfigError, Status
from statuscore.testing import run_check
from statuscore.testing_dns import SERVFAIL, SILENT, Zone, dns_server


@pytest.fixture
def zone():
    zone = Zone()
    zone.add("sefaria.org", "A", "192.0.2.10", "192.0.2.11")
    zone.add("sefaria.org", "AAAA", "2001:db8::10")
    zone.add("sefaria.org", "MX", "10 mail.sefaria.org.")
    zone.add("sefaria.org", "TXT", '"v=spf1 -all"')
    zone.add("www.sefaria.org", "CNAME", "sefaria.org.")
    zone.add("sefaria.org", "NS", "ns1.example.net.")
    return zone


@pytest.mark.parametrize(
    ("record", "condition"),
    [
        ("A", 'dns.answer contains "192.0.2.11"'),
        ("AAAA", 'dns.answer contains "2001:db8::10"'),
        ("MX", 'dns.answer contains "10 mail.sefaria.org"'),
        ("TXT", 'dns.answer contains "v=spf1 -all"'),
        ("NS", 'dns.answer contains "ns1.example.net"'),
    ],
)
async def test_each_record_type_answers_and_is_usable_in_conditions(zone, record, condition):
    with dns_server(zone) as resolver:
        result = await run_check(
            "dns",
            query="sefaria.org",
            record=record,
            resolver=resolver,
            conditions=[condition, 'dns.rcode == "NOERROR"'],
        )
    assert result.status is Status.UP, result.error


async def test_a_cname_and_a_wrong_answer(zone):
    with dns_server(zone) as resolver:
        cname = await run_check("dns", query="www.sefaria.org", record="CNAME", resolver=resolver)
        moved = await run_check(
            "dns", query="sefaria.org", resolver=resolver, conditions=['dns.answer contains "198.51.100.1"']
        )
    assert cname.status is Status.UP
    assert moved.status is Status.DOWN
    assert moved.error.startswith('condition failed: dns.answer contains "198.51.100.1"')


async def test_nxdomain_servfail_and_no_record_are_down_with_the_reason(zone):
    zone.failing["broken.sefaria.org"] = SERVFAIL
    with dns_server(zone) as resolver:
        missing = await run_check("dns", query="nothing.sefaria.org", resolver=resolver, retries=0)
        failing = await run_check("dns", query="broken.sefaria.org", resolver=resolver, retries=1)
        no_aaaa = await run_check("dns", query="www.sefaria.org", record="AAAA", resolver=resolver)
        expected_gone = await run_check(
            "dns", query="old.sefaria.org", resolver=resolver, expect_rcode="nxdomain", allow_empty=True
        )
    assert missing.status is Status.DOWN and missing.error == "NXDOMAIN for nothing.sefaria.org A (expected NOERROR)"
    assert failing.status is Status.DOWN and failing.error.startswith("SERVFAIL for broken.sefaria.org")
    assert failing.attempts == 2  # SERVFAIL is retried
    assert no_aaaa.error == "no AAAA record for www.sefaria.org"
    assert expected_gone.status is Status.UP  # a name that must stay gone


async def test_a_resolver_that_never_answers_is_down_within_the_timeout(zone):
    zone.failing["sefaria.org"] = SILENT
    with dns_server(zone) as resolver:
        result = await run_check("dns", query="sefaria.org", resolver=resolver, timeout="1s", retries=0)
    assert result.status is Status.DOWN
    assert "no answer from 127.0.0.1" in result.error or "timed out" in result.error


async def test_dnssec_needs_the_validated_flag(zone):
    with dns_server(zone) as resolver:
        unvalidated = await run_check("dns", query="sefaria.org", resolver=resolver, dnssec=True)
        zone.validated.add("sefaria.org")
        validated = await run_check(
            "dns", query="sefaria.org", resolver=resolver, dnssec=True, conditions=["dns.authenticated == true"]
        )
    assert unvalidated.error == "the answer for sefaria.org A is not DNSSEC-validated (no AD flag)"
    assert validated.status is Status.UP, validated.error


@pytest.mark.parametrize(
    ("keys", "key"),
    [
        ({"query": "sefaria.org", "record": "SPF"}, "record"),
        ({"query": "bad name.org"}, "query"),
        ({"query": "x" * 300}, "query"),
        ({"query": "sefaria.org", "resolver": "dns.google"}, "resolver"),
        ({"query": "sefaria.org", "resolver": "192.0.2.1:99999"}, "resolver"),
        ({"query": "sefaria.org", "expect_rcode": "MAYBE"}, "expect_rcode"),
        ({"query": "sefaria.org", "conditions": ["dns.answer contains"]}, "conditions[0]"),
    ],
)
async def test_mistakes_fail_at_load_naming_the_key(keys, key):
    with pytest.raises(ConfigError) as caught:
        await run_check("dns", **keys)
    assert caught.value.key == key, str(caught.value)
