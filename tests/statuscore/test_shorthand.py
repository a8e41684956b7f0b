"""Uptime Kuma's keyword and JSON-query monitors, written as Kuma users know them, against
a real target on 127.0.0.1: each becomes a condition and says so when it fails."""

from __future__ import annotations

import pytest

from statuscore import ConfigError, Status, check, load_config


def monitors(tmp_path, body: str, defaults: str = ""):
    path = tmp_path / "monitors.toml"
    path.write_text(f'{defaults}[[monitor]]\nname = "Site"\n{body}\n')
    return load_config(str(path), env={}).monitors


async def judged(tmp_path, base: str, body: str, defaults: str = ""):
    (monitor,) = monitors(tmp_path, f'url = "{base}/ok"\nretries = 0\n{body}', defaults)
    return monitor, await check(monitor)


async def test_a_keyword_and_its_absence(target, tmp_path):
    base, _ = target
    monitor, found = await judged(tmp_path, base, 'keyword = "items"')
    assert [c.text for c in monitor.conditions] == ['body contains "items"'] and found.status is Status.UP
    (hebrew,) = monitors(tmp_path, 'url = "http://127.0.0.1:9/"\nkeyword = "בראשית"')
    assert hebrew.conditions[0].text == 'body contains "בראשית"' and hebrew.conditions[0].value == "בראשית"
    _, missing = await judged(tmp_path, base, 'keyword = "Genesis"')
    assert missing.status is Status.DOWN and missing.error.startswith('condition failed: body contains "Genesis"')
    _, absent = await judged(tmp_path, base, 'keyword = "Traceback"\ninvert_keyword = true')
    assert absent.status is Status.UP
    _, present = await judged(tmp_path, base, 'keyword = "state"\ninvert_keyword = true')
    assert present.status is Status.DOWN and 'body not contains "state"' in present.error


async def test_a_json_query_with_its_expected_value(target, tmp_path):
    base, _ = target
    monitor, good = await judged(tmp_path, base, 'json_query = "$.state"\nexpected = "ok"')
    assert [c.text for c in monitor.conditions] == ['json.state == "ok"'] and good.status is Status.UP
    _, nested = await judged(tmp_path, base, "json_query = \"$.items[0]['id']\"\nexpected = 1")
    assert nested.status is Status.UP, nested.error
    _, typed = await judged(tmp_path, base, 'json_query = "$.items[0].id"\nexpected = "1"')
    assert typed.status is Status.DOWN  # text is not the number: expected keeps its TOML type
    _, wrong = await judged(tmp_path, base, 'json_query = "$.state"\nexpected = "down"')
    assert wrong.error == "condition failed: json.state == \"down\" (json.state was 'ok')"


async def test_shorthand_adds_to_the_conditions_and_to_the_defaults_ones(target, tmp_path):
    base, _ = target
    monitor, result = await judged(tmp_path, base, 'keyword = "ok"\nconditions = ["status == 200"]')
    assert [c.text for c in monitor.conditions] == [
        "status == 200",
        'body contains "ok"',
    ] and result.status is Status.UP
    (monitor,) = monitors(
        tmp_path, f'url = "{base}/ok"\nkeyword = "ok"', defaults='[defaults]\nconditions = ["latency < 5s"]\n'
    )
    assert [c.text for c in monitor.conditions] == ["latency < 5s", 'body contains "ok"']


@pytest.mark.parametrize(
    ("body", "key", "said"),
    [
        ('keyword = ""', "keyword", "the text the page must contain"),
        ("keyword = 3", "keyword", "the text the page must contain"),
        ("invert_keyword = true", "invert_keyword", "goes with keyword"),
        ('keyword = "x"\ninvert_keyword = "yes"', "invert_keyword", "true or false"),
        ('json_query = "$.state"', "expected", "needs expected"),
        ('expected = "ok"', "expected", "goes with json_query"),
        ('json_query = "state"\nexpected = "ok"', "json_query", "a JSONPath such as"),
        ('json_query = "$..state"\nexpected = "ok"', "json_query", "only simple paths"),
        ('json_query = "$.items[?(@.id>0)]"\nexpected = "ok"', "json_query", "only simple paths"),
        ('json_query = "$.state"\nexpected = [1]', "expected", "text, a plain number"),
        ('json_query = "$.n"\nexpected = 1e300', "expected", "text, a plain number"),
        ('keyword = "a \\" b \\\\ c"', None, None),  # quotes and backslashes survive as text
    ],
)
def test_mistakes_name_the_monitor_and_the_key(tmp_path, body, key, said):
    if key is None:
        (monitor,) = monitors(tmp_path, f'url = "http://127.0.0.1:9/"\n{body}')
        assert monitor.conditions[0].value == 'a " b \\ c'
        return
    with pytest.raises(ConfigError) as caught:
        monitors(tmp_path, f'url = "http://127.0.0.1:9/"\n{body}')
    assert caught.value.monitor == "Site" and caught.value.key == key and said in caught.value.message, str(
        caught.value
    )
