"""What an import says about a file it cannot take whole: a record that is wrong is named
by file, line, section and key and skipped while every other record goes in (exit 1, so
scripts notice); a file that is not ours, is from a newer statusweb, is cut short or is
not UTF-8 is refused before anything is written; the database must be upgraded first. A
file laid out otherwise (pretty-printed by another tool) still imports, and the export
shows its progress on a long history."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from statuscore import utcnow
from statusweb.cli import main as admin_main
from statusweb.models import Incident, RollupHourly, Service, get_session_factory
from statusweb.transfer.shape import TIME_FORMAT
from tests.statusweb.pages import add_incident, add_services
from tests.statusweb.transfer.seed import write_ini

pytestmark = pytest.mark.parametrize("migrated_engine", ["sqlite"], indirect=True)


@pytest.fixture
def exported(engine, db_url, tmp_path):
    """A small export: two services, two incidents; the database emptied afterwards."""
    ids = add_services(engine, ("Website", "up"), ("Linker", "down"))
    add_incident(engine, "Slow", affected={ids["linker"]: "major_outage"})
    add_incident(engine, "Slower", status="resolved")
    path = tmp_path / "export.json"
    ini = write_ini(tmp_path, db_url)
    assert admin_main(["export", ini, str(path)]) == 0
    with engine.begin() as connection:
        for table in ("incident_service", "incident_update", "incident", "service_state", "service"):
            connection.execute(text(f"DELETE FROM {table}"))
    return ini, path


def lines_of(path):
    return path.read_text(encoding="utf-8").split("\n")


def incident_titles(engine) -> list[str]:
    with get_session_factory(engine)() as session:
        return sorted(session.scalars(select(Incident.title)))


@pytest.mark.parametrize(
    ("change", "key", "why"),
    [
        (lambda r: r | {"created_at": "yesterday"}, "created_at", "is not a time"),
        (lambda r: r | {"created_at": "2026-01-01T00:00:00"}, "created_at", "has no time zone"),
        (lambda r: r | {"impact": "apocalyptic"}, "impact", "is not one of none, minor, major, critical"),
        (lambda r: r | {"title": "x" * 201}, "title", "is 201 characters long; at most 200"),
        (lambda r: r | {"title": "a\x00b"}, "title", "holds a NUL character"),
        (lambda r: r | {"deleted": "no"}, "deleted", "is not true or false"),
        (lambda r: r | {"title": None}, "title", "may not be null"),
        (lambda r: {k: v for k, v in r.items() if k != "title"}, "title", "missing"),
        (lambda r: r | {"affected": {"nope": "major_outage"}}, "affected", "no service 'nope' in the file or"),
        (lambda r: r | {"affected": {"linker": "on fire"}}, "affected", "is not one of operational"),
        (lambda r: r | {"page": "elsewhere"}, "page", "no page 'elsewhere'"),
        (lambda r: r | {"page": 7}, "page", "is not a page's slug"),
        (lambda r: r | {"updates": "many"}, "updates", "must be a list"),
        (lambda r: r | {"updates": [{"status": "done", "body": "", "created_at": r["created_at"]}]}, "status", ""),
    ],
)
def test_a_bad_record_is_named_and_skipped_and_the_rest_go_in(engine, exported, capsys, change, key, why):
    ini, path = exported
    lines = lines_of(path)
    number = next(n for n, line in enumerate(lines) if '"title": "Slow"' in line)
    record = json.loads(lines[number].removesuffix(","))
    lines[number] = json.dumps(change(record)) + ("," if lines[number].endswith(",") else "")
    path.write_text("\n".join(lines), encoding="utf-8")
    capsys.readouterr()
    assert admin_main(["import", ini, str(path)]) == 1
    said = capsys.readouterr().err
    assert f"{path}, line {number + 1} (incidents)" in said and f"key {key!r}" in said and why in said
    assert "1 records skipped" in said
    assert incident_titles(engine) == ["Slower"]  # the good one went in
    assert admin_main(["import", ini, str(path)]) == 1  # again: nothing more, the same complaint
    assert incident_titles(engine) == ["Slower"]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "is empty"),
        (b"not json at all", "is not JSON"),
        (b'{"format": "something-else", "version": 1}', "is not a statusweb export"),
        (b'{"format": "statusweb-export", "version": 2, "schema": "0021"}', "export of version 2"),
        (b'{"format": "statusweb-export", "version": 1, "schema": "9999"}', "made by a newer statusweb"),
        (b'{"format": "statusweb-export", "version": 1, "schema": "0021", "extra": []}', "unknown sections extra"),
        (b'{"format": "statusweb-export", "version": 1, "schema": "0021", "incidents": {}}', "must be a list"),
        (b'{"format": "statusweb-export", "version": 1, "schema": "0021", "incidents": [1]}', "must be a JSON object"),
        (b"\xff\xfe{}", "not UTF-8"),
        (
            b'{"format": "statusweb-export", "version": 1, "schema": "0021", "with_secrets": false,\n"bogus": [\n]}',
            "unknown section",
        ),
        (
            b'{"format": "statusweb-export", "version": 1, "schema": "0021", "with_secrets": false,\n"incidents": [\n{"title": "cut',
            "was the file cut short",
        ),
        (
            b'{"format": "statusweb-export", "version": 1, "schema": "0021", "with_secrets": false,\n"incidents": [\n\xff\n]}',
            "line 3: not UTF-8",
        ),
        (
            b'{"format": "statusweb-export", "version": 1, "schema": "0021", "with_secrets": false,\n{"title": "x"}\n]}',
            "outside any section",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_before_anything_is_written(
    engine, db_url, tmp_path, capsys, content, why
):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    assert admin_main(["import", write_ini(tmp_path, db_url), str(path)]) == 2
    said = capsys.readouterr().err
    assert "error: " in said and why in said and "Traceback" not in said
    assert incident_titles(engine) == []


def test_a_missing_file_and_an_old_database_say_what_to_do(engine, db_url, tmp_path, exported, capsys):
    ini, path = exported
    assert admin_main(["import", ini, str(tmp_path / "nowhere.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert admin_main(["import", ini, str(path), "--monitors", "x.toml"]) == 2
    assert "--monitors goes with --from" in capsys.readouterr().err
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0020'"))
    try:
        assert admin_main(["import", ini, str(path)]) == 2
        assert "run statusweb-admin db upgrade CONFIG first" in capsys.readouterr().err
    finally:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0021'"))


def test_a_pretty_printed_file_imports_like_the_original(engine, exported, capsys):
    ini, path = exported
    document = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(document, indent=2, ensure_ascii=True), encoding="utf-8")
    assert admin_main(["import", ini, str(path)]) == 0
    assert incident_titles(engine) == ["Slow", "Slower"]
    assert "incidents: 2 added" in capsys.readouterr().err


def test_export_to_standard_output_and_progress_on_a_long_history(engine, db_url, tmp_path, capsys):
    ids = add_services(engine, ("Website", "up"))
    start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2500)
    with get_session_factory(engine).begin() as session:
        session.execute(
            RollupHourly.__table__.insert(),
            [{"service_id": ids["website"], "bucket": start + timedelta(hours=n), "up_count": 60} for n in range(2500)],
        )
    ini = write_ini(tmp_path, db_url)
    capsys.readouterr()
    assert admin_main(["export", ini, "-"]) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert len(document["rollups_hourly"]) == 2500
    assert document["rollups_hourly"][0]["bucket"] == start.strftime(TIME_FORMAT)
    assert "wrote standard output" in err
    path = tmp_path / "history.json"
    assert admin_main(["export", ini, str(path)]) == 0
    err = capsys.readouterr().err
    assert "rollups_hourly: 1000 of 2500" in err and "rollups_hourly: 2000 of 2500" in err
    assert "rollups_hourly: 2500 of 2500" in err
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM rollup_hourly"))
        connection.execute(text("DELETE FROM service"))
    assert admin_main(["import", ini, str(path)]) == 0
    err = capsys.readouterr().err
    assert "rollups hourly: 2500 added" in err
    with get_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(RollupHourly)) == 2500
        assert session.scalar(select(Service.slug)) == "website"


def test_an_export_that_fails_leaves_no_file_under_its_name(engine, db_url, tmp_path, capsys):
    ini = write_ini(tmp_path, db_url)
    target = tmp_path / "missing-folder" / "export.json"
    assert admin_main(["export", ini, str(target)]) == 2
    assert f"cannot write {target}: No such file or directory" in capsys.readouterr().err
    taken = tmp_path / "taken"
    (taken / "inside").mkdir(parents=True)  # written in full, then it cannot take the name
    assert admin_main(["export", ini, str(taken)]) == 2
    assert "nothing was written" in capsys.readouterr().err
    assert taken.is_dir() and not list(tmp_path.glob(".taken.partial"))
