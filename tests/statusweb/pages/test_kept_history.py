"""The 90 days behind each service are worked out at most once a minute and kept
(pages/histories.py), and each bar's past days are rendered once (pages/bar_strips.py):
the page must still say what a fresh render says, show an incident at once, and never
show one reader's language to another."""

from __future__ import annotations

from datetime import timedelta

from statuscore import utcnow
from statusweb.models import RollupDaily, get_session_factory
from statusweb.models.rollups import RollupTotals, day_bucket
from statusweb.pages.bar_strips import BarStrips, days_html
from statusweb.pages.page_model import DayBar
from tests.statusweb.pages import add_daily_uptime, add_services
from tests.statusweb.views.test_admin import add_user, login


def bars(page) -> list[tuple[str, str]]:
    """(class, aria-label) of every day of the first bar."""
    return [(" ".join(day["class"]), day["aria-label"]) for day in page.html.select("ol.bars")[0].select("li")]


def add_down_today(engine, service_id: int, down: int) -> None:
    with get_session_factory(engine).begin() as session:
        row = session.get(RollupDaily, (service_id, day_bucket(utcnow())))
        totals = RollupTotals(
            up_count=row.up_count,
            down_count=down,
            latency_count=row.up_count,
            latency_sum_ms=row.up_count * 100,
            latency_max_ms=100,
        )
        for name, value in totals.as_columns().items():
            setattr(row, name, value)


def test_kept_history_renders_what_a_fresh_render_does_and_an_incident_shows_at_once(engine, make_testapp):
    ids = add_services(engine, ("Site", "up"), ("API", "up"))
    add_daily_uptime(engine, ids["site"], days=40, up=1440, down=0)
    add_user(engine, "ed", "editor")
    kept = make_testapp(**{"statusweb.history_seconds": "60"})
    fresh = make_testapp()  # the tests' default: nothing kept
    first = kept.get("/")
    assert bars(first) == bars(fresh.get("/"))  # the strip is the same HTML bars.pt wrote
    assert [day for day, _ in bars(first)][-40:] == ["bar up"] * 40
    assert "30 days: 100.00%" in first.html.select_one("p.uptime").text

    add_down_today(engine, ids["site"], down=600)  # a bad morning: today is red on a fresh render
    assert bars(fresh.get("/"))[-1][0] == "bar down"
    assert bars(kept.get("/"))[-1][0] == "bar up"  # kept for up to a minute: history, not the current state

    login(kept, "ed")
    form = kept.get("/admin/incidents/new").forms[1]
    form["title"], form["impact"], form["status"] = "Site is failing", "critical", "identified"
    form["body"] = "Looking into it."
    form[f"service-{ids['site']}"] = "major_outage"
    form.submit(status=303)
    after = bars(kept.get("/"))
    assert after == bars(fresh.get("/"))  # the change dropped what was kept: fresh figures and marks
    assert after[-1][0] == "bar down" and "Site is failing" in after[-1][1]


def test_each_language_gets_its_own_strip(engine, make_testapp):
    ids = add_services(engine, ("Site", "up"))
    add_daily_uptime(engine, ids["site"], days=3, up=1440, down=0)
    app = make_testapp(**{"statusweb.history_seconds": "60"})
    english = bars(app.get("/"))
    hebrew = bars(app.get("/", headers={"Accept-Language": "he"}))
    assert [day for day, _ in english] == [day for day, _ in hebrew]
    assert english[-1][1] != hebrew[-1][1] and "100.00" in hebrew[-1][1]
    assert bars(app.get("/")) == english
    assert len(app.app.registry["statusweb.bar_strips"]) == 2


def test_a_changed_past_day_is_a_new_strip_and_the_strips_stay_within_their_bytes():
    today = day_bucket(utcnow())
    days = [DayBar(today - timedelta(days=n), 100.0) for n in range(89, -1, -1)]
    strips = BarStrips(max_bytes=40_000)
    first = strips.html("en", days)
    assert first == days_html("en", days[:-1], tab_stop=False) + days_html("en", days[-1:], tab_stop=True)
    assert first.count('tabindex="0"') == 1 and first.endswith("</li>") and first.count("<li") == 90
    changed = [
        *days[:10],
        DayBar(days[10].day, 99.5, down_minutes=7.0, incidents=(("DNS <failure>", "major"),)),
        *days[11:],
    ]
    second = strips.html("en", changed)
    assert second != first and "DNS &lt;failure&gt;" in second and 'class="bar partial"' in second
    assert len(strips) == 2
    for shift in range(1, 20):  # later days: older strips go, the bytes stay bounded
        strips.html("en", [DayBar(day.day + timedelta(days=shift), 100.0) for day in days])
    assert strips.size <= 40_000 and len(strips) < 21
