"""The observation store answers window queries exactly as the in-memory definition does."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from compliance.rules import (
    MemoryHistory,
    Observation,
    Party,
    PaymentContext,
    WindowQuery,
    WindowStats,
)
from compliance.rules.context import history_keys
from compliance.rules.history import plan_window
from compliance.rules.observations import (
    ObservationBucket,
    ObservationRow,
    past_payments,
    record_payment,
    record_refund,
)
from compliance.rules.screening import MatchSnapshot, ScreeningSnapshot
from compliance.rules.sql_history import SqlHistory
from core.database import Database

T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
MakeCtx = Callable[..., PaymentContext]


def test_sql_history_matches_the_in_memory_definition(db: Database, make_ctx: MakeCtx) -> None:
    """Raw ranges, hour buckets, amount bands and exclusions all agree with ``matches``."""
    rng = random.Random(7)
    cards = ["fp_a", "fp_b", "fp_c"]
    memory = MemoryHistory()
    with db.transaction() as s:
        for i in range(400):
            ctx = make_ctx(
                ref=f"pi_{i}",
                amount=rng.choice([100, 50_000, 800_000, 950_000, 999_999, 1_000_000]),
                # Some exactly on hour boundaries, most not.
                occurred_at=T0
                - dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 9))
                - dt.timedelta(microseconds=rng.choice([0, 0, 1, 123_456])),
                card_fingerprint=rng.choice(cards),
                email=rng.choice(["a@x.com", "B@X.com"]),
                account_id=rng.choice(["acct_1", "acct_2"]),
            )
            record_payment(s, ctx)
            memory.add(
                Observation(ctx.ref, "payment", ctx.occurred_at, ctx.base_amount, history_keys(ctx))
            )
        for i in range(60):
            paid = f"pi_{rng.randrange(400)}"
            at = T0 - dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 9))
            record_refund(s, ref=f"re_{i}", payment_ref=paid, base_amount=100, occurred_at=at)
            original = next(o for o in memory._observations if o.ref == paid)
            memory.add(Observation(f"re_{i}", "refund", at, 100, original.keys))
    ends = [T0, T0 - dt.timedelta(minutes=17, microseconds=5), T0 - dt.timedelta(days=2, hours=3)]
    windows = [
        dt.timedelta(hours=1),
        dt.timedelta(hours=3, minutes=1),
        dt.timedelta(days=1),
        dt.timedelta(days=7),
        dt.timedelta(days=30),
    ]
    queries = [
        WindowQuery(
            key, value, kind, end - window, end, exclude_ref=exclude, min_amount=lo, max_amount=hi
        )
        for key, value in (
            ("card", "fp_a"),
            ("card", "fp_c"),
            ("account", "acct_2"),
            ("email", "b@x.com"),
        )
        for kind in ("payment", "refund")
        for end in ends
        for window in windows
        for exclude in (None, "pi_3", "pi_77")
        for lo, hi in ((None, None), (800_000, 1_000_000))
    ]
    assert any(plan_window(q.start, q.end).buckets for q in queries)  # the bucket path is exercised
    with db.transaction(write=False) as s:
        got = SqlHistory(s).fetch(queries)
    expected = memory.fetch(queries)
    assert got == expected
    assert sum(v.count for v in got.values()) > 1000


def test_plan_window_splits_exactly() -> None:
    day = plan_window(T0 - dt.timedelta(days=1), T0)  # T0 is on an hour boundary
    assert day.buckets == (T0 - dt.timedelta(hours=23), T0 - dt.timedelta(hours=1))
    assert day.raw == (
        (T0 - dt.timedelta(days=1), T0 - dt.timedelta(hours=23, microseconds=1)),
        (T0 - dt.timedelta(microseconds=1), T0),
    )
    assert plan_window(T0 - dt.timedelta(hours=2), T0).buckets is None  # too short to bother
    odd = plan_window(T0 - dt.timedelta(hours=5, minutes=7), T0 + dt.timedelta(minutes=13))
    assert odd.buckets == (T0 - dt.timedelta(hours=5), T0 - dt.timedelta(hours=1))


def test_window_edges_in_the_database(db: Database, make_ctx: MakeCtx) -> None:
    with db.transaction() as s:
        for i, age in enumerate(
            [
                dt.timedelta(hours=1),
                dt.timedelta(minutes=59, seconds=59, microseconds=999_999),
                dt.timedelta(0),
                dt.timedelta(microseconds=-1),
            ]
        ):
            record_payment(s, make_ctx(ref=f"pi_{i}", amount=100 * (i + 1), occurred_at=T0 - age))
    query = WindowQuery("card", "fp_1", "payment", T0 - dt.timedelta(hours=1), T0)
    with db.transaction(write=False) as s:
        # (start, end]: exactly one hour old is out, the future one is out.
        assert SqlHistory(s).fetch([query])[query] == WindowStats(2, 200 + 300)


def test_re_evaluating_a_payment_updates_its_row_and_totals(
    db: Database, make_ctx: MakeCtx
) -> None:
    early = T0 - dt.timedelta(hours=10)
    with db.transaction() as s:
        record_payment(s, make_ctx(ref="pi_same", amount=100, occurred_at=early))
        record_payment(
            s, make_ctx(ref="pi_same", amount=250, occurred_at=early + dt.timedelta(hours=2))
        )
        assert s.execute(select(func.count()).select_from(ObservationRow)).scalar() == 1
    # The hourly totals are added as the transaction's last step: read them committed.
    with db.transaction() as s:
        query = WindowQuery("payer", "id:cus_1", "payment", T0 - dt.timedelta(days=1), T0)
        assert plan_window(query.start, query.end).buckets is not None
        assert SqlHistory(s).fetch([query])[query] == WindowStats(1, 250)
        totals = s.execute(
            select(ObservationBucket.bucket, ObservationBucket.count, ObservationBucket.total)
            .where(ObservationBucket.key == "card")
            .order_by(ObservationBucket.bucket)
        ).all()
    assert [(c, t) for _, c, t in totals] == [(0, 0), (1, 250)]


def test_refund_inherits_the_payment_keys(db: Database, make_ctx: MakeCtx) -> None:
    with db.transaction() as s:
        record_payment(s, make_ctx(ref="pi_r", amount=5_000))
        record_refund(s, ref="re_1", payment_ref="pi_r", base_amount=2_000, occurred_at=T0)
        record_refund(
            s, ref="re_1", payment_ref="pi_r", base_amount=2_000, occurred_at=T0
        )  # idempotent
        record_refund(
            s,
            ref="re_2",
            payment_ref="pi_unknown",
            base_amount=700,
            occurred_at=T0,
            account_id="acct_1",
        )
        with pytest.raises(ValueError, match="no account_id"):
            record_refund(s, ref="re_3", payment_ref="pi_unknown", base_amount=1, occurred_at=T0)
        window = (T0 - dt.timedelta(days=1), T0)
        by_card = WindowQuery("card", "fp_1", "refund", *window)
        by_account = WindowQuery("account", "acct_1", "refund", *window)
        got = SqlHistory(s).fetch([by_card, by_account])
    assert got[by_card] == WindowStats(1, 2_000)
    assert got[by_account] == WindowStats(2, 2_700)


def test_history_keys_normalise(make_ctx: MakeCtx) -> None:
    ctx = make_ctx(
        payer=Party(name="  Jane   MILLER ", country="us"),
        email=" Jane@Example.COM ",
        ip="2001:0db8:0000:0000:0000:0000:0000:0001",
    )
    keys = history_keys(ctx)
    assert keys["payer"] == "name:jane miller|US"
    assert keys["email"] == "jane@example.com"
    assert keys["ip"] == "2001:db8::1"
    assert history_keys(make_ctx())["payer"] == "id:cus_1"


def test_past_payments_round_trip_context_and_screenings(db: Database, make_ctx: MakeCtx) -> None:
    ctx = make_ctx(
        ref="pi_rt",
        amount=12_345,
        currency="EUR",
        base_amount=13_000,
        cross_border=True,
        beneficiary=Party(
            name="Hans", country="DE", account="DE89", date_of_birth=dt.date(1970, 1, 2)
        ),
        merchant=Party(name="Shop", kind="entity", country="DE"),
        ip_country="DE",
        card_country="FR",
    )
    screenings = {
        "payer": ScreeningSnapshot("review", (MatchSnapshot(0.9, "un", "QDi.1", "A", "B"),))
    }
    with db.transaction() as s:
        record_payment(s, ctx, screenings=screenings, rule_set_version=3)
    with db.transaction(write=False) as s:
        (back,) = past_payments(s)
    assert back.context == ctx
    assert back.screenings == screenings
    assert back.rule_set_version == 3
