"""Condition expressions: parsed strictly at load time, evaluated on an attempt."""

from __future__ import annotations

import pytest

from statuscore.conditions import ConditionSyntaxError, Observation, parse_condition
from statuscore.model import Attempt

BODY = b'{"he": ["x"], "state": "ok", "items": [{"id": 3}], "n": 5, "flag": true, "none": null}'
OBSERVED = Observation(
    Attempt(
        ok=True,
        status_code=200,
        body=BODY,
        headers={"Content-Type": "application/json; charset=utf-8"},
        values={"days_left": 20},
    ),
    latency=0.3,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("status == 200", True),
        ("status != 200", False),
        ("status in [200, 204]", True),
        ("status not in [500, 503]", True),
        ("status >= 500", False),
        ("latency < 2s", True),
        ("latency < 100ms", False),
        ("latency <= 300ms", True),
        ("json.he exists", True),
        ("json.missing exists", False),
        ("json.missing not exists", True),
        ('json.state == "ok"', True),
        ("json.state == 'ok'", True),
        ('json.state != "ok"', False),
        ("json.items[0].id == 3", True),
        ("json.items.0.id == 3", True),
        ("json.items[5].id exists", False),
        ('json["state"] == "ok"', True),
        ("json.n > 4", True),
        ("json.n < 4.5", False),
        ("json.flag == true", True),
        ("json.flag == 1", False),
        ("json.none == null", True),
        ('json.he contains "x"', True),
        ('body contains "ok"', True),
        ('body not contains "error"', True),
        ('body matches "state.:\\\\s*.ok"', True),
        ('header.content-type contains "json"', True),
        ('header.Content-Type contains "json"', True),
        ("header.x-missing exists", False),
        ("json.state == 5", False),
        ("json.missing != 1", True),
    ],
)
def test_evaluation(text, expected):
    assert parse_condition(text).evaluate(OBSERVED) is expected


def test_extra_subjects_from_a_check_type():
    assert parse_condition("days_left > 14", {"days_left"}).evaluate(OBSERVED)
    with pytest.raises(ConditionSyntaxError):
        parse_condition("days_left > 14")


@pytest.mark.parametrize(
    "text, column, message",
    [
        ("status = 200", 8, "unexpected character '='"),
        ("latency < 2", 11, "latency compares with a duration"),
        ("json.he exist", 9, "expected an operator"),
        ('status == "x"', 11, "status compares with a number"),
        ("foo == 1", 1, "expected one of"),
        ("status in 200", 11, "needs a [list]"),
        ("body contains 3", 15, 'needs a "string"'),
        ("json.a ==", 10, "expected a value"),
        ("status == 200 200", 15, "expected the end"),
        ("body < 3", 6, "cannot be ordered"),
        ("status exists", 1, "always exists"),
        ("header == 1", 1, "header.name"),
        ('body matches "("', 14, "bad regular expression"),
        ("json.n > 2s", 10, "a duration only compares with latency"),
    ],
)
def test_syntax_errors_point_at_the_column(text, column, message):
    with pytest.raises(ConditionSyntaxError) as caught:
        parse_condition(text)
    assert caught.value.column == column
    assert message in caught.value.message


def test_failure_description_shows_what_was_seen():
    condition = parse_condition("status == 200")
    observed = Observation(Attempt(ok=True, status_code=500), latency=0.1)
    assert condition.describe_failure(observed) == "condition failed: status == 200 (status was 500)"
    slow = parse_condition("latency < 100ms")
    assert slow.describe_failure(OBSERVED) == "condition failed: latency < 100ms (latency was 300 ms)"


@pytest.mark.parametrize(
    "text",
    [
        "status == 200",
        "status != 200",
        "status in [200, 204]",
        "status not in [500, 503]",
        "status == 200.0",
        "status in [200, 204.0]",
    ],
)
def test_status_sets_judge_as_the_general_comparison_does(text):
    """`status == 200` and `status in [...]` are judged from a set of codes; every code,
    and no status at all, must come out as the general comparison says."""
    condition = parse_condition(text)
    general = parse_condition(text)
    object.__setattr__(general, "_codes", None)  # force the general path
    for code in (None, 199, 200, 204, 301, 500, 503):
        observed = Observation(Attempt(ok=code is not None, status_code=code), latency=0.1)
        assert condition.evaluate(observed) is general.evaluate(observed), (text, code)
