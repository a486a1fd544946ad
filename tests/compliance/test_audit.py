"""The audit chain: appends link and sign; any edit, removal or reordering is found."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from compliance import audit
from compliance.audit import AuditSigner, canonical_json, entry_hash
from core.database import Database
from core.settings import get_settings


def _fill(db: Database, n: int = 5) -> None:
    with db.transaction() as s:
        for i in range(n):
            audit.append(s, f"officer{i}", "review.note", f"prv_{i}", {"i": i, "note": f"note {i}"})


def _verify(db: Database, **kw) -> audit.VerifyResult:
    with db.transaction(write=False) as s:
        return audit.verify(s, **kw)


def _exec(db: Database, sql: str, **params) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)


def test_chain_links_signs_and_verifies(db: Database) -> None:
    _fill(db, 5)
    with db.transaction(write=False) as s:
        entries = list(reversed(audit.list_entries(s, limit=100)))
        result = audit.verify(s)
    # The chain starts by recording the signing key it is signed with.
    assert entries[0].action == "audit.signing_key"
    assert entries[0].payload["key_id"] == entries[1].key_id
    assert [e.sequence for e in entries] == list(range(1, 7))
    assert entries[0].prev_hash == audit.GENESIS_HASH
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    third = entries[2]
    expected = entry_hash(
        third.prev_hash,
        audit.canonical_entry(
            sequence=3,
            ts=third.ts,
            actor=third.actor,
            action=third.action,
            ref=third.ref,
            payload=third.payload,
            prev_hash=third.prev_hash,
        ),
    )
    assert (
        third.hash
        == expected
        == hashlib.sha256(
            (
                third.prev_hash
                + json.dumps(
                    {
                        "action": third.action,
                        "actor": third.actor,
                        "payload": third.payload,
                        "prev_hash": third.prev_hash,
                        "ref": third.ref,
                        "sequence": 3,
                        "ts": third.ts.isoformat(timespec="microseconds"),
                    },
                    sort_keys=True,
                    separators=(",", ":"),
                    ensure_ascii=False,
                )
            ).encode()
        ).hexdigest()
    )
    assert result == audit.VerifyResult(True, None, None, 6, 6, entries[-1].hash)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("payload", '{"i": 99, "note": "note 2"}'),
        ("actor", "somebody_else"),
        ("action", "review.approved"),
        ("ref", "prv_other"),
        ("ts", "2020-01-01 00:00:00.000000"),
    ],
)
def test_editing_one_row_fails_verify_and_names_it(db: Database, column: str, value: str) -> None:
    _fill(db, 5)
    assert _verify(db).ok
    if column == "ts" and db.dialect == "postgresql":
        value = "2020-01-01 00:00:00+00"
    _exec(db, f"UPDATE compliance_audit_log SET {column} = :v WHERE sequence = 4", v=value)
    result = _verify(db)
    assert not result.ok
    assert result.first_bad_sequence == 4
    assert "hash" in result.problem
    assert result.entries_checked == 3


def test_deleting_a_row_fails_verify(db: Database) -> None:
    _fill(db, 5)
    _exec(db, "DELETE FROM compliance_audit_log WHERE sequence = 3")
    result = _verify(db)
    assert (result.ok, result.first_bad_sequence) == (False, 3)
    assert "3 missing" in result.problem


def test_deleting_the_last_row_fails_verify(db: Database) -> None:
    _fill(db, 5)
    _exec(db, "DELETE FROM compliance_audit_log WHERE sequence = 6")
    result = _verify(db)
    assert (result.ok, result.first_bad_sequence) == (False, 6)
    assert "head" in result.problem


def test_swapping_two_rows_fails_verify(db: Database) -> None:
    _fill(db, 5)
    _exec(db, "UPDATE compliance_audit_log SET sequence = -1 WHERE sequence = 3")
    _exec(db, "UPDATE compliance_audit_log SET sequence = 3 WHERE sequence = 4")
    _exec(db, "UPDATE compliance_audit_log SET sequence = 4 WHERE sequence = -1")
    result = _verify(db)
    assert (result.ok, result.first_bad_sequence) == (False, 3)


def test_rewriting_the_chain_without_the_key_fails_on_the_signature(db: Database) -> None:
    """An attacker who edits an entry and recomputes every hash still cannot sign."""
    _fill(db, 4)
    with db.transaction(write=False) as s:
        entries = list(reversed(audit.list_entries(s, limit=100)))
    prev = entries[2].prev_hash
    for e in entries[2:]:
        payload = {"i": 7, "note": "rewritten"} if e.sequence == 3 else e.payload
        new = entry_hash(
            prev,
            audit.canonical_entry(
                sequence=e.sequence,
                ts=e.ts,
                actor=e.actor,
                action=e.action,
                ref=e.ref,
                payload=payload,
                prev_hash=prev,
            ),
        )
        _exec(
            db,
            "UPDATE compliance_audit_log SET payload = :p, prev_hash = :ph, hash = :h"
            " WHERE sequence = :s",
            p=json.dumps(payload),
            ph=prev,
            h=new,
            s=e.sequence,
        )
        prev = new
    _exec(db, "UPDATE compliance_audit_head SET hash = :h", h=prev)
    result = _verify(db)
    assert (result.ok, result.first_bad_sequence, result.problem) == (
        False,
        3,
        "signature does not verify",
    )


def test_verify_trusts_only_keys_it_is_given(db: Database) -> None:
    _fill(db, 2)
    stranger = AuditSigner(Ed25519PrivateKey.generate())
    result = _verify(db, signer=stranger)
    assert (result.ok, result.first_bad_sequence) == (False, 1)
    assert "untrusted key" in result.problem


def test_key_rotation_is_recorded_and_verifies_with_the_old_key_trusted(db: Database) -> None:
    old = AuditSigner(Ed25519PrivateKey.generate())
    new = AuditSigner(Ed25519PrivateKey.generate())
    with db.transaction() as s:
        audit.append(s, "a", "x.one", None, {}, signer=old)
        audit.append(s, "a", "x.two", None, {}, signer=new)
    with db.transaction(write=False) as s:
        actions = [e.action for e in reversed(audit.list_entries(s))]
        rotation = audit.list_entries(s, action="audit.signing_key")[0]
        assert actions == ["audit.signing_key", "x.one", "audit.signing_key", "x.two"]
        assert rotation.payload["previous_key_id"] == old.key_id
        assert rotation.key_id == new.key_id
        assert not audit.verify(s, signer=new).ok
        assert audit.verify(s, signer=new, trusted_keys=[old.public_key]).ok


def test_anchor_detects_a_rewritten_tail(db: Database) -> None:
    _fill(db, 3)
    with db.transaction(write=False) as s:
        published = audit.anchor(s)
        assert audit.verify(s, anchor=published).ok
    # Remove the last entry and move the head back: the chain alone looks consistent...
    with db.transaction(write=False) as s:
        previous = audit.list_entries(s, limit=2)[1]
    _exec(db, "DELETE FROM compliance_audit_log WHERE sequence = :s", s=published[0])
    _exec(
        db,
        "UPDATE compliance_audit_head SET sequence = :s, hash = :h",
        s=previous.sequence,
        h=previous.hash,
    )
    assert _verify(db).ok
    # ...but not against the anchor published before.
    result = _verify(db, anchor=published)
    assert (result.ok, result.first_bad_sequence) == (False, published[0])


def test_concurrent_appends_keep_one_linear_chain(db: Database) -> None:
    threads, per_thread = 8, 15
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                db.run(
                    lambda s, i=i: audit.append(
                        s, f"worker{n}", "test.append", None, {"n": n, "i": i}
                    )
                )
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    with db.transaction(write=False) as s:
        result = audit.verify(s)
        entries = audit.list_entries(s, limit=1000, action="test.append")
    assert result.ok, result
    assert result.head_sequence == threads * per_thread + 1  # plus the signing-key entry
    assert sorted((e.payload["n"], e.payload["i"]) for e in entries) == [
        (n, i) for n in range(threads) for i in range(per_thread)
    ]


@pytest.mark.postgres
def test_concurrent_appends_on_postgres_with_many_writers(db: Database) -> None:
    assert db.dialect == "postgresql"
    threads = 16
    done = []

    def writer(n: int) -> None:
        for i in range(10):
            db.run(lambda s, i=i: audit.append(s, "w", "test.pg", None, {"n": n, "i": i}))
        done.append(n)

    pool = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert len(done) == threads
    with db.transaction(write=False) as s:
        result = audit.verify(s)
    assert result.ok and result.head_sequence == threads * 10 + 1


def test_rolled_back_append_leaves_no_trace(db: Database) -> None:
    _fill(db, 1)
    with pytest.raises(RuntimeError), db.transaction() as s:
        audit.append(s, "a", "x.lost", None, {})
        raise RuntimeError("the business change failed")
    _fill(db, 1)
    with db.transaction(write=False) as s:
        assert audit.verify(s).ok
        assert audit.list_entries(s, action="x.lost") == []


def test_key_file_is_created_once_with_mode_0600(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CORRIDOR_AUDIT_SIGNING_KEY")
    monkeypatch.setenv("CORRIDOR_DATA_DIR", str(tmp_path / "d"))
    get_settings.cache_clear()
    first = AuditSigner.from_settings(get_settings())
    path = tmp_path / "d" / audit.KEY_FILE_NAME
    assert first.created
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = AuditSigner.from_settings(get_settings())
    assert not again.created
    assert again.key_id == first.key_id


def test_signing_key_from_settings_accepts_raw_base64(audit_key: Ed25519PrivateKey) -> None:
    signer = audit.default_signer()
    assert signer.key_id == audit.key_id_of(audit_key.public_key())
    with pytest.raises(audit.AuditKeyError, match="base64"):
        AuditSigner.from_base64("not base64 !!")
    with pytest.raises(audit.AuditKeyError):
        AuditSigner.from_base64(base64.b64encode(b"short").decode())


def test_canonical_json_is_strict() -> None:
    assert canonical_json({"b": 1, "a": [1, {"d": 2, "c": 3}]}) == '{"a":[1,{"c":3,"d":2}],"b":1}'
    assert canonical_json({"t": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)}) == (
        '{"t":"2026-01-02T03:04:05.000000+00:00"}'
    )
    assert canonical_json({"name": "Müller"}) == '{"name":"Müller"}'
    with pytest.raises(TypeError, match="naive"):
        canonical_json({"t": dt.datetime(2026, 1, 2)})
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    with pytest.raises(TypeError):
        canonical_json({"x": object()})


def test_list_entries_pages_like_stripe(db: Database) -> None:
    _fill(db, 5)  # sequences 1..6
    with db.transaction(write=False) as s:
        assert [e.sequence for e in audit.list_entries(s, limit=2)] == [6, 5]
        assert [e.sequence for e in audit.list_entries(s, limit=2, starting_after=5)] == [4, 3]
        assert [e.sequence for e in audit.list_entries(s, limit=2, ending_before=2)] == [4, 3]
        assert [e.ref for e in audit.list_entries(s, ref="prv_1")] == ["prv_1"]
