"""Rule-set versions (one active at a time, audited) and dry runs before activation."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from compliance import audit
from compliance.rules import (
    Decision,
    MemoryHistory,
    Observation,
    PastPayment,
    PaymentContext,
    default_rule_set,
    dry_run,
    parse_rule_set,
)
from compliance.rules.context import history_keys
from compliance.rules.engine import evaluate
from compliance.rules.observations import record_payment
from compliance.rules.sql_history import SqlHistory
from compliance.rules.store import (
    RuleSetNotFound,
    activate_rule_set,
    active_rule_set,
    create_rule_set,
    dry_run_stored,
    ensure_active_rule_set,
    get_rule_set,
    list_rule_sets,
)
from core.database import Database

T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
MakeCtx = Callable[..., PaymentContext]


def threshold_set(amount: str, name: str = "t") -> dict:
    return {
        "name": name,
        "base_currency": "USD",
        "rules": [
            {
                "id": "big",
                "type": "amount_threshold",
                "decision": "review",
                "params": {"amount": amount},
            },
            {
                "id": "card.burst",
                "type": "velocity",
                "decision": "review",
                "params": {"key": "card", "window": "1h", "max_count": 3},
            },
        ],
    }


def test_versions_and_exactly_one_active(db: Database) -> None:
    with db.transaction() as s:
        v1 = create_rule_set(s, threshold_set("1000"), actor="officer")
        v2 = create_rule_set(s, threshold_set("2000"), actor="officer")
        assert (v1.version, v1.status, v2.version) == (1, "draft", 2)
        assert active_rule_set(s) is None
        activate_rule_set(s, 1, actor="lead")
        activate_rule_set(s, 2, actor="lead")
        statuses = {v.version: v.status for v in list_rule_sets(s)}
        assert statuses == {1: "retired", 2: "active"}
        active = active_rule_set(s)
        assert active.version == 2 and active.activated_by == "lead"
        assert active.rule_set.rule("big").logic.threshold.base == 200_000
        # Rollback: a retired version can be activated again.
        activate_rule_set(s, 1, actor="lead")
        assert {v.version: v.status for v in list_rule_sets(s)} == {1: "active", 2: "retired"}
        assert [v.version for v in list_rule_sets(s, status="retired")] == [2]
        # The transaction's remembered active version follows an activation in it.
        assert active_rule_set(s).version == 1
    with db.transaction() as s:
        assert active_rule_set(s).version == 1
        activate_rule_set(s, 2, actor="lead")
        assert active_rule_set(s).version == 2


def test_same_body_is_the_same_version(db: Database) -> None:
    with db.transaction() as s:
        a = create_rule_set(s, threshold_set("1000"), actor="x")
        b = create_rule_set(s, parse_rule_set(threshold_set("1000")), actor="y")
        assert a.version == b.version and a.checksum == b.checksum


def test_database_refuses_a_second_active_version(db: Database) -> None:
    with db.transaction() as s:
        create_rule_set(s, threshold_set("1000"), actor="x")
        create_rule_set(s, threshold_set("2000"), actor="x")
        activate_rule_set(s, 1, actor="x")
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text("UPDATE compliance_rule_sets SET status = 'active' WHERE version = 2"))


def test_changes_are_audited(db: Database) -> None:
    with db.transaction() as s:
        create_rule_set(s, threshold_set("1000"), actor="alice")
        create_rule_set(s, threshold_set("2000"), actor="alice")
        activate_rule_set(s, 1, actor="bob")
        activate_rule_set(s, 2, actor="bob")
    with db.transaction(write=False) as s:
        entries = [
            (e.actor, e.action, e.ref)
            for e in reversed(audit.list_entries(s))
            if e.action != "audit.signing_key"
        ]
        last = audit.list_entries(s, limit=1)[0]
        assert audit.verify(s).ok
    assert entries == [
        ("alice", "rule_set.created", "rule_set:1"),
        ("alice", "rule_set.created", "rule_set:2"),
        ("bob", "rule_set.activated", "rule_set:1"),
        ("bob", "rule_set.activated", "rule_set:2"),
    ]
    assert last.payload["previous_version"] == 1


def test_missing_version(db: Database) -> None:
    with db.transaction() as s, pytest.raises(RuleSetNotFound):
        get_rule_set(s, 42)


def test_default_is_installed_once(db: Database) -> None:
    with db.transaction() as s:
        first = ensure_active_rule_set(s)
        again = ensure_active_rule_set(s)
    assert first.version == again.version == 1
    assert first.checksum == default_rule_set().checksum


def test_tampered_body_is_refused(db: Database) -> None:
    with db.transaction() as s:
        create_rule_set(s, threshold_set("1000", name="tamper-me"), actor="x")
    with db.engine.begin() as conn:
        raw = conn.execute(text("SELECT body FROM compliance_rule_sets")).scalar()
        body = raw if isinstance(raw, dict) else json.loads(raw)
        body["rules"][0]["params"]["amount"] = "999999"  # quietly raise the threshold
        conn.execute(text("UPDATE compliance_rule_sets SET body = :b"), {"b": json.dumps(body)})
    with db.transaction() as s, pytest.raises(RuntimeError, match="does not match its checksum"):
        get_rule_set(s, 1)


# --------------------------------------------------------------------------- dry run


def _payments(make_ctx: MakeCtx) -> list[PaymentContext]:
    amounts = [50_000, 150_000, 250_000, 120_000, 30_000]
    return [
        make_ctx(ref=f"pi_{i}", amount=a, occurred_at=T0 + dt.timedelta(minutes=i))
        for i, a in enumerate(amounts)
    ]


def test_dry_run_reports_counts_rule_hits_and_flips(make_ctx: MakeCtx) -> None:
    current = parse_rule_set(threshold_set("1000"))
    candidate = parse_rule_set(threshold_set("2000"))
    contexts = _payments(make_ctx)
    history = MemoryHistory(
        Observation(c.ref, "payment", c.occurred_at, c.base_amount, history_keys(c))
        for c in contexts
    )
    report = dry_run(
        candidate, [PastPayment(c) for c in contexts], history=history, baseline=current
    )
    # amounts 500, 1500, 2500, 1200, 300; the 4th and 5th card payments within the hour
    # exceed 3 per hour (card.burst).
    assert report.payments == 5
    assert report.baseline_decisions == {"allow": 1, "review": 4, "block": 0}
    assert report.decisions == {"allow": 2, "review": 3, "block": 0}
    assert report.baseline_rule_hits == {"big": 3, "card.burst": 2}
    assert report.rule_hits == {"big": 1, "card.burst": 2}
    assert [f.to_dict() for f in report.flips] == [
        {
            "ref": "pi_1",
            "before": "review",
            "after": "allow",
            "rules_added": [],
            "rules_removed": ["big"],
        },
    ]
    assert report.baseline == f"rule_set:{current.checksum}"


def test_dry_run_against_recorded_decisions(make_ctx: MakeCtx) -> None:
    candidate = parse_rule_set(threshold_set("100"))
    ctx = make_ctx(amount=20_000)
    report = dry_run(candidate, [PastPayment(ctx, decision="allow")], history=MemoryHistory())
    assert report.baseline == "recorded"
    assert [(f.before, f.after, f.rules_added) for f in report.flips] == [
        (Decision.ALLOW, Decision.REVIEW, ("big",))
    ]


def test_dry_run_over_stored_payments_replays_history_in_order(
    db: Database, make_ctx: MakeCtx
) -> None:
    current = parse_rule_set(threshold_set("1000"))
    with db.transaction() as s:
        v1 = create_rule_set(s, current, actor="x")
        activate_rule_set(s, v1.version, actor="x")
        for ctx in _payments(make_ctx):
            evaluation = evaluate(current, ctx, history=SqlHistory(s))
            record_payment(s, ctx, evaluation=evaluation, rule_set_version=1)
        v2 = create_rule_set(s, threshold_set("2000"), actor="x")
    with db.transaction(write=False) as s:
        against_active = dry_run_stored(s, v2.version)
        against_recorded = dry_run_stored(s, v2.version, against_active=False)
        only_first_three = dry_run_stored(s, v2.version, until=T0 + dt.timedelta(minutes=3))
    assert against_active.decisions == {"allow": 2, "review": 3, "block": 0}
    assert [f.ref for f in against_active.flips] == ["pi_1"]
    # Recorded decisions were made with the same inputs, so the comparison agrees.
    assert against_recorded.baseline_decisions == against_active.baseline_decisions
    assert [f.to_dict() for f in against_recorded.flips] == [
        f.to_dict() for f in against_active.flips
    ]
    assert only_first_three.payments == 3
