"""List snapshots in the database: loading, updates, refusals, and re-screening additions."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

import compliance.sanctions.tables  # noqa: F401  (registers the tables before `db` creates them)
from compliance.sanctions import (
    Counterparty,
    Decision,
    EntryKind,
    ListFormatError,
    ScreeningIndex,
    active_entries,
    active_snapshots,
    build_active_index,
    load_list,
    parse_list,
    screen_against_additions,
    snapshot_history,
)
from compliance.sanctions.tables import SanctionsEntry
from core.database import Database


def _ent_nums(folder: Path) -> set[str]:
    with (folder / "sdn.csv").open(encoding="utf-8", newline="") as handle:
        return {row[0] for row in csv.reader(handle) if len(row) > 1}


def test_first_load_activates_a_snapshot(db: Database, lists: Path) -> None:
    with db.transaction() as session:
        report = load_list(session, lists / "ofac_sdn_sample", "ofac_sdn")
    assert report.status == "loaded"
    assert report.entry_count == 17
    assert len(report.added) == 17
    assert report.previous_snapshot_id is None
    with db.transaction(write=False) as session:
        (snapshot,) = active_snapshots(session)
        assert snapshot.id == report.snapshot_id
        assert snapshot.source == "ofac_sdn"
        assert snapshot.entry_count == 17
        assert len(snapshot.checksum) == 64
        assert snapshot.loaded_at.tzinfo is not None
        entries = active_entries(session)
    assert len(entries) == 17
    original = {e.entry_id: e for e in parse_list(lists / "ofac_sdn_sample").entries}
    for entry in entries:
        assert entry == original[entry.entry_id]  # round trip through the table is lossless


def test_list_update_reports_additions_and_removals(db: Database, lists: Path) -> None:
    old_ids, new_ids = _ent_nums(lists / "ofac_sdn_older"), _ent_nums(lists / "ofac_sdn")
    with db.transaction() as session:
        first = load_list(session, lists / "ofac_sdn_older", "ofac_sdn")
    with db.transaction() as session:
        update = load_list(session, lists / "ofac_sdn", "ofac_sdn")
    assert first.entry_count == 7379
    assert update.previous_snapshot_id == first.snapshot_id
    assert set(update.added) == new_ids - old_ids
    assert set(update.removed) == old_ids - new_ids
    assert len(update.added) == 1858
    assert len(update.removed) == 261
    assert {e.entry_id for e in update.added_entries} == set(update.added)
    assert update.changed  # some entries kept their number but changed names
    assert "added" in update.message
    with db.transaction(write=False) as session:
        history = snapshot_history(session, "ofac_sdn")
        assert [s.status for s in history] == ["active", "superseded"]
        assert [s.id for s in active_snapshots(session)] == [update.snapshot_id]
        assert len(active_entries(session, "ofac_sdn")) == 8976
        stored = session.scalar(select(func.count()).select_from(SanctionsEntry))
    assert stored == 7379 + 8976  # history is kept


def test_loading_the_same_file_again_is_a_no_op(db: Database, lists: Path) -> None:
    with db.transaction() as session:
        first = load_list(session, lists / "ofac_sdn_sample", "ofac_sdn")
    with db.transaction() as session:
        again = load_list(session, lists / "ofac_sdn_sample")
    assert again.status == "unchanged"
    assert again.snapshot_id == first.snapshot_id
    assert again.added == again.removed == ()
    assert "nothing loaded" in again.message
    with db.transaction(write=False) as session:
        assert len(snapshot_history(session, "ofac_sdn")) == 1


def test_malformed_file_leaves_the_active_snapshot_alone(
    db: Database, lists: Path, tmp_path: Path
) -> None:
    with db.transaction() as session:
        good = load_list(session, lists / "ofac_sdn_sample", "ofac_sdn")
    broken = tmp_path / "broken"
    shutil.copytree(lists / "ofac_sdn", broken)
    with (broken / "sdn.csv").open("a", encoding="utf-8") as handle:
        handle.write('40000,"TRUNCATED ENTRY","individual"\n')
    with pytest.raises(ListFormatError), db.transaction() as session:
        load_list(session, broken, "ofac_sdn")
    with db.transaction(write=False) as session:
        (active,) = active_snapshots(session)
        assert active.id == good.snapshot_id
        assert len(active_entries(session)) == 17
        assert len(snapshot_history(session, "ofac_sdn")) == 1


def test_failure_during_the_load_rolls_everything_back(
    db: Database, lists: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.transaction() as session:
        good = load_list(session, lists / "ofac_sdn_sample", "ofac_sdn")
    from compliance.sanctions import snapshots

    def failing_row(snapshot_id: str, entry: object) -> dict[str, object]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(snapshots, "entry_row", failing_row)
    with pytest.raises(RuntimeError), db.transaction() as session:
        load_list(session, lists / "ofac_sdn_older", "ofac_sdn")
    with db.transaction(write=False) as session:
        (active,) = active_snapshots(session)
        assert active.id == good.snapshot_id
        assert active.status == "active"


def test_several_sources_are_active_side_by_side(
    db: Database, lists: Path, sanctions_data: Path
) -> None:
    with db.transaction() as session:
        load_list(session, lists / "ofac_sdn_sample")
        un = load_list(session, lists / "un" / "UN_consolidated.xml")
        eu = load_list(session, sanctions_data / "eu_fsf_sample.csv")
        load_list(session, lists / "bis_dpl" / "dpl.txt", publication_date=dt.date(2026, 1, 5))
    assert un.publication_date == dt.date(2026, 2, 27)
    assert eu.publication_date == dt.date(2026, 2, 14)
    with db.transaction(write=False) as session:
        snapshots = {s.source: s for s in active_snapshots(session)}
        assert set(snapshots) == {"ofac_sdn", "un", "eu", "bis_dpl"}
        assert snapshots["bis_dpl"].publication_date == dt.date(2026, 1, 5)
        index = build_active_index(session)
    assert len(index) == 17 + 1003 + 5 + 546
    result = index.screen("Saddam Hussein Al-Tikriti", kind="person")
    assert {m.list for m in result.matches if m.score >= 0.95} == {"un", "eu"}


def test_rescreening_against_additions_only(db: Database, lists: Path) -> None:
    with db.transaction() as session:
        load_list(session, lists / "ofac_sdn_older", "ofac_sdn")
    with db.transaction() as session:
        update = load_list(session, lists / "ofac_sdn", "ofac_sdn")
    full = ScreeningIndex.build(parse_list(lists / "ofac_sdn").entries)
    added_person = next(
        e for e in update.added_entries if e.kind is EntryKind.PERSON and "," in e.name
    )
    surname, given = (part.strip() for part in added_person.name.split(",", 1))
    parties = [
        Counterparty("cp_new", f"{given} {surname}", EntryKind.PERSON),
        Counterparty("cp_old", "Oleg Vladimirovich Deripaska", EntryKind.PERSON),  # listed before
        Counterparty("cp_clean", "Maria Kowalska", EntryKind.PERSON),
    ]
    hits = screen_against_additions(parties, update.added_entries, reference=full)
    assert [hit.counterparty.reference for hit in hits] == ["cp_new"]
    assert hits[0].result.matches[0].entry_id == added_person.entry_id
    assert hits[0].result.decision is not Decision.ALLOW
    assert screen_against_additions(parties, ()) == []
