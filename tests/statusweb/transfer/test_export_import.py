"""`statusweb-admin export` and `import`, as an operator runs them: a database with some
of everything goes out to a file, into a fresh database of the other kind (SQLite <->
PostgreSQL) and out again, byte for byte the same; importing again adds nothing; an
import into a running database takes its own ids and tells no subscriber about history;
secrets travel only when asked; a bad record is named by file, line and key and skipped
while the rest go in; a file that is not ours, is newer, or is cut short is refused."""

from __future__ import annotations

import json
import stat

import pytest
from sqlalchemy import func, select

from statuscore import utcnow
from statusweb.cli import main as admin_main
from statusweb.models import (
    Base,
    Incident,
    Service,
    Subscriber,
    SubscriberMessage,
    User,
    get_engine,
    get_session_factory,
)
from statusweb.runner.subscribers import Delivery, fan_out
from statusweb.services import incidents, second_factor
from statusweb.services.organizations import valid_token
from tests.statusweb.conftest import create_pg_database, drop_pg_database, migrated, sqlite_url
from tests.statusweb.pages import add_services
from tests.statusweb.transfer.seed import PASSWORD, seed, write_ini


@pytest.fixture
def other_url(engine, tmp_path_factory):
    """A fresh, migrated database of the other kind than the test's own."""
    if engine.dialect.name == "sqlite":
        url = create_pg_database()
        text = url.render_as_string(hide_password=False)
        other = migrated(text)
        yield text
        other.dispose()
        drop_pg_database(url)
    else:
        text = sqlite_url(tmp_path_factory)
        other = migrated(text)
        yield text
        other.dispose()


def counts(url: str) -> dict[str, int]:
    """Every table's rows."""
    engine = get_engine(url)
    with engine.connect() as connection:
        found = {t.name: connection.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
    engine.dispose()
    return found


@pytest.mark.slow
@pytest.mark.parametrize("with_secrets", [False, True], ids=["plain", "with-secrets"])
async def test_export_import_export_through_the_other_database_is_byte_identical(
    engine, db_url, other_url, tmp_path, capsys, with_secrets
):
    kept = await seed(engine, tmp_path)
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    flags = ["--with-secrets"] if with_secrets else []
    assert admin_main(["export", write_ini(tmp_path, db_url), str(first), *flags]) == 0
    said = capsys.readouterr().err
    assert f"wrote {first}" in said and "3 incidents" in said
    other_ini = write_ini(tmp_path, other_url, "other.ini")
    assert admin_main(["import", other_ini, str(first)]) == 0
    said = capsys.readouterr().err
    assert "incidents: 3 added, 0 there already" in said
    assert admin_main(["export", other_ini, str(second), *flags]) == 0
    assert first.read_bytes() == second.read_bytes()

    document = json.loads(first.read_text(encoding="utf-8"))
    assert document["format"] == "statusweb-export" and document["with_secrets"] is with_secrets
    assert {p["slug"] for p in document["pages"]} == {"default", "texts"}
    assert [s["slug"] for s in document["services"]] == ["website", "linker", "nightly-export", "books"]
    outage = next(i for i in document["incidents"] if i["title"] == 'Linker "find-refs" is slow')
    assert outage["affected"] == {"linker": "major_outage", "website": "degraded_performance"}
    assert [u["status"] for u in outage["updates"]] == ["investigating", "resolved", "postmortem"]
    assert outage["postmortem"].startswith("# What happened")
    assert "עובדים על זה" in first.read_text(encoding="utf-8")  # written as itself, not escaped
    series = next(m for m in document["maintenance"] if m["rrule"])
    occurrences = [m for m in document["maintenance"] if m["series"] == series["ref"]]
    assert len(occurrences) >= 1 and all(m["affected"] == ["website"] for m in occurrences)
    assert len(document["rollups_daily"]) >= 40 and document["rollups_hourly"]
    admin = next(u for u in document["users"] if u["name"] == "admin")
    assert admin["memberships"][0]["organization"] == "default"
    kinds = sorted(s["kind"] for s in document["subscribers"])
    assert stat.S_IMODE(first.stat().st_mode) == 0o600  # addresses are personal data
    if with_secrets:
        assert kinds == ["email", "email", "webhook"] and len(document["api_tokens"]) == 1
        assert admin["password_hash"].startswith("$argon2") and len(admin["recovery_codes"]) == 10
        with get_session_factory(migrated(other_url))() as session:  # the secrets work there
            user = session.scalar(select(User).where(User.name == "admin"))
            assert user.check_password(PASSWORD) and second_factor.enrolled(user)
            assert second_factor.accept_recovery_code(session, user, kept.recovery_code)
            assert valid_token(session, kept.api_token, utcnow()) is not None
    else:
        assert kinds == ["email", "email"] and document["api_tokens"] == []
        assert "password_hash" not in admin and "recovery_codes" not in admin and "totp_secret" not in admin
        text = first.read_text(encoding="utf-8")
        assert "s3cret" not in text and "$argon2" not in text and "nightly-export-0123" not in text
        assert "users came without a password" in said and "statusweb-admin set-password" in said
        with get_session_factory(migrated(other_url))() as session:
            user = session.scalar(select(User).where(User.name == "admin"))
            assert not user.check_password(PASSWORD) and not second_factor.enrolled(user)


@pytest.mark.slow
async def test_importing_twice_adds_nothing_and_a_running_database_keeps_its_ids(engine, db_url, tmp_path, capsys):
    """The target already has services of its own (so ids differ), a subscriber and a
    fan-out cursor: the imported history is remapped and told to nobody, and news
    posted afterwards still goes out."""
    source_ini = write_ini(tmp_path, db_url)
    await seed(engine, tmp_path)
    exported = tmp_path / "export.json"
    assert admin_main(["export", source_ini, str(exported)]) == 0
    target_url = sqlite_url_for(tmp_path)
    target = migrated(target_url)
    add_services(target, ("Mail", "up"), ("Search", "up"), ("Linker", "up"))
    factory = get_session_factory(target)
    delivery = Delivery(mail=None, page_url="http://localhost", allow_private_webhooks=True)
    now = utcnow()
    with factory.begin() as session:
        listener = Subscriber(
            kind="email",
            address="ops@example.org",
            components="",
            created_at=now,
            confirmed_at=now,
            confirm_token="c" * 20,
            unsubscribe_token="u" * 20,
        )
        session.add(listener)
        fan_out(session, now, delivery)  # the first run sets the cursors
    target_ini = write_ini(tmp_path, target_url, "target.ini")
    capsys.readouterr()
    assert admin_main(["import", target_ini, str(exported)]) == 0
    first = capsys.readouterr().err
    assert "services: 3 added, 1 there already" in first  # website, nightly-export, books; linker was there
    before = counts(target_url)
    assert admin_main(["import", target_ini, str(exported)]) == 0
    again = capsys.readouterr().err
    assert counts(target_url) == before
    assert "imported 0 rows" in again and "incidents: 0 added, 3 there already" in again

    with factory.begin() as session:
        linker = session.scalar(select(Service.id).where(Service.slug == "linker"))
        outage = session.scalar(select(Incident).where(Incident.title == 'Linker "find-refs" is slow'))
        assert linker in {a.service_id for a in outage.affected}  # the target's own id for "linker"
        assert all(u.imported for u in outage.updates)
        assert fan_out(session, utcnow(), delivery) == 0
        assert session.scalar(select(func.count()).select_from(SubscriberMessage)) == 0
        news = incidents.create(
            session,
            page_id=None,
            title="New trouble",
            impact="minor",
            components={},
            status="investigating",
            body="Now.",
            author="ops",
        )
        assert news.id > outage.id
    with factory.begin() as session:
        assert fan_out(session, utcnow(), delivery) == 1  # the listener hears of what is new
    target.dispose()


def sqlite_url_for(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'target.sqlite'}"


async def test_an_export_while_the_runner_writes_is_whole_and_imports_cleanly(engine, tmp_path, other_url):
    """A service and an incident that names it, committed by another connection while
    the export runs: PostgreSQL's export reads one snapshot and leaves both out; SQLite's
    may take them in; either way every reference in the file resolves on import."""
    from statusweb.transfer.export import export
    from statusweb.transfer.load import import_file

    await seed(engine, tmp_path)
    wrote = []

    def meanwhile(section: str, done: int, total: int) -> None:
        if section == "organizations" and not wrote:
            ids = add_services(engine, ("Late arrival", "down"))
            with get_session_factory(engine).begin() as session:
                incidents.create(
                    session,
                    page_id=None,
                    title="Late trouble",
                    impact="major",
                    components={ids["late-arrival"]: "major_outage"},
                    status="investigating",
                    body="Now.",
                    author="runner",
                )
            wrote.append(ids)

    path = tmp_path / "during.json"
    with get_session_factory(engine)() as session, path.open("w", encoding="utf-8") as out:
        export(session, out, with_secrets=False, progress=meanwhile)
    assert wrote
    document = json.loads(path.read_text(encoding="utf-8"))
    late = [i for i in document["incidents"] if i["title"] == "Late trouble"]
    if engine.dialect.name == "postgresql":
        assert not late and "late-arrival" not in {s["slug"] for s in document["services"]}
    report = import_file(get_session_factory(migrated(other_url)), path)
    assert not report.skipped
