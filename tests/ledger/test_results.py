"""Every result code a posting can return, each provoked on purpose."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.money import MAX_MINOR_AMOUNT
from settlement.ledger import (
    Journal,
    LedgerError,
    PostPending,
    ResultCode,
    Reversal,
    Side,
    TransferKind,
    TransferSpec,
    VoidPending,
)
from settlement.ledger.specs import Expiry

R = ResultCode


@dataclass
class Accounts:
    src: str
    dst: str
    usd: str
    avail: str
    capped: str


@pytest.fixture
def acct(books) -> Accounts:
    return Accounts(
        src=books.adhoc("src"),
        dst=books.adhoc("dst"),
        usd=books.adhoc("usd", "USD"),
        avail=books.account("acct_m", "merchant_available").id,
        capped=books.adhoc("capped", credits_must_not_exceed_debits=True),
    )


def spec(id: str, debit: str, credit: str, amount: int = 100, **kw) -> TransferSpec:
    kw.setdefault("currency", "EUR")
    kw.setdefault("code", "test")
    kw.setdefault("reference", "ref_1")
    return TransferSpec(id, debit, credit, amount, **kw)


# -- ok / exists / exists_with_different_* ---------------------------------------------------


def test_ok_moves_money_on_both_sides(books, acct):
    result = books.one(spec("t1", acct.src, acct.dst, 250))
    assert result.code is R.OK and result.created and result.ok
    assert result.transfer is not None and result.transfer.seq is not None
    assert result.transfer.kind is TransferKind.POSTED
    assert books.balance(acct.src).totals.debits_posted == 250
    assert books.balance(acct.dst).totals.credits_posted == 250
    assert books.verify().ok


def test_identical_repost_is_a_noop_returning_the_original(books, acct):
    first = books.one(spec("t1", acct.src, acct.dst, 250, metadata={"order": "42"}))
    again = books.one(spec("t1", acct.src, acct.dst, 250, metadata={"order": "42"}))
    assert again.code is R.EXISTS and again.ok and not again.created
    assert again.transfer == first.transfer
    assert books.balance(acct.src).totals.debits_posted == 250


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"pending": True}, R.EXISTS_WITH_DIFFERENT_KIND),
        ({"debit": "other"}, R.EXISTS_WITH_DIFFERENT_DEBIT),
        ({"credit": "other"}, R.EXISTS_WITH_DIFFERENT_CREDIT),
        ({"amount": 101}, R.EXISTS_WITH_DIFFERENT_AMOUNT),
        ({"currency": "USD"}, R.EXISTS_WITH_DIFFERENT_CURRENCY),
        ({"code": "other"}, R.EXISTS_WITH_DIFFERENT_CODE),
        ({"reference": "ref_2"}, R.EXISTS_WITH_DIFFERENT_REFERENCE),
        ({"metadata": {"order": "43"}}, R.EXISTS_WITH_DIFFERENT_METADATA),
    ],
)
def test_same_id_with_a_different_field_is_refused(books, acct, change, code):
    books.one(spec("t1", acct.src, acct.dst, 100, metadata={"order": "42"}))
    fields = {"debit": acct.src, "credit": acct.dst, "amount": 100, "metadata": {"order": "42"}}
    fields.update(change)
    result = books.one(spec("t1", **fields))
    assert result.code is code and not result.ok
    assert result.transfer is not None and result.transfer.amount == 100
    assert books.balance(acct.src).totals.debits_posted == 100


def test_same_id_with_a_different_timeout_is_refused(books, acct):
    books.one(spec("p1", acct.src, acct.dst, pending=True, timeout_seconds=60))
    result = books.one(spec("p1", acct.src, acct.dst, pending=True, timeout_seconds=61))
    assert result.code is R.EXISTS_WITH_DIFFERENT_TIMEOUT


def test_lowercase_currency_reposts_as_the_same_transfer(books, acct):
    books.one(spec("t1", acct.src, acct.dst, currency="EUR"))
    assert books.one(spec("t1", acct.src, acct.dst, currency="eur")).code is R.EXISTS


def test_resolution_reposts(books, acct):
    books.one(spec("p1", acct.src, acct.dst, 100, pending=True))
    assert books.one(PostPending("p1:post", "p1", 60)).code is R.OK
    assert books.one(PostPending("p1:post", "p1", 60)).code is R.EXISTS
    assert books.one(PostPending("p1:post", "p1", 61)).code is R.EXISTS_WITH_DIFFERENT_AMOUNT
    assert books.one(PostPending("p1:post", "p1")).code is R.EXISTS_WITH_DIFFERENT_AMOUNT
    assert books.one(VoidPending("p1:post", "p1")).code is R.EXISTS_WITH_DIFFERENT_KIND
    books.one(spec("p2", acct.src, acct.dst, 100, pending=True))
    assert books.one(PostPending("p1:post", "p2", 60)).code is R.EXISTS_WITH_DIFFERENT_PENDING_ID
    assert books.one(PostPending("p1:post", "p1", 60, code="x")).code is (
        R.EXISTS_WITH_DIFFERENT_CODE
    )
    assert books.one(PostPending("p1:post", "p1", 60, code="test")).code is R.EXISTS


def test_full_post_reposts_without_an_amount(books, acct):
    books.one(spec("p1", acct.src, acct.dst, 100, pending=True))
    assert books.one(PostPending("p1:post", "p1")).code is R.OK
    assert books.one(PostPending("p1:post", "p1")).code is R.EXISTS
    assert books.one(PostPending("p1:post", "p1", 100)).code is R.EXISTS


def test_reversal_reposts(books, acct):
    books.one(spec("t1", acct.src, acct.dst))
    books.one(spec("t2", acct.src, acct.dst))
    assert books.one(Reversal("t1:rev", "t1")).code is R.OK
    assert books.one(Reversal("t1:rev", "t1")).code is R.EXISTS
    assert books.one(Reversal("t1:rev", "t2")).code is R.EXISTS_WITH_DIFFERENT_REVERSES
    assert books.one(Reversal("t1:rev", "t1", code="refund")).code is R.EXISTS_WITH_DIFFERENT_CODE
    assert books.one(spec("t1:rev", acct.dst, acct.src)).code is R.EXISTS_WITH_DIFFERENT_REVERSES


# -- failures are remembered -----------------------------------------------------------------


def test_a_failed_id_keeps_failing_even_when_funds_arrive(books, acct):
    assert books.one(spec("pay", acct.avail, acct.dst, 500)).code is R.EXCEEDS_CREDITS
    books.one(spec("fund", acct.src, acct.avail, 1000))
    retry = books.one(spec("pay", acct.avail, acct.dst, 500))
    assert retry.code is R.ID_ALREADY_FAILED
    assert "exceeds_credits" in retry.detail
    assert books.one(spec("pay-2", acct.avail, acct.dst, 500)).code is R.OK


def test_input_errors_are_not_remembered(books, acct):
    assert books.one(spec("t1", acct.src, acct.dst, 0)).code is R.AMOUNT_MUST_BE_POSITIVE
    assert books.one(spec("t1", acct.src, acct.dst, 5)).code is R.OK


def test_a_rolled_back_failure_is_not_remembered(books, acct, db):
    with pytest.raises(LedgerError) as raised, db.transaction() as session:
        books.ledger(session).post_or_raise([spec("pay", acct.avail, acct.dst, 500)])
    assert raised.value.code == "exceeds_credits" and raised.value.transfer_id == "pay"
    books.one(spec("fund", acct.src, acct.avail, 1000))
    assert books.one(spec("pay", acct.avail, acct.dst, 500)).code is R.OK


# -- input codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda a: spec("", a.src, a.dst), R.ID_INVALID),
        (lambda a: spec("has space", a.src, a.dst), R.ID_INVALID),
        (lambda a: spec("x" * 129, a.src, a.dst), R.ID_INVALID),
        (lambda a: spec("ledger:mine", a.src, a.dst), R.ID_INVALID),
        (lambda a: spec("t", a.src, a.src), R.ACCOUNTS_MUST_BE_DIFFERENT),
        (lambda a: spec("t", a.src, a.dst, 0), R.AMOUNT_MUST_BE_POSITIVE),
        (lambda a: spec("t", a.src, a.dst, -5), R.AMOUNT_MUST_BE_POSITIVE),
        (lambda a: spec("t", a.src, a.dst, 2**63), R.AMOUNT_TOO_LARGE),
        (lambda a: spec("t", a.src, a.dst, currency="EURO"), R.CURRENCY_INVALID),
        (lambda a: spec("t", a.src, a.dst, currency="XAU"), R.CURRENCY_INVALID),
        (lambda a: spec("t", a.src, a.dst, code=""), R.CODE_INVALID),
        (lambda a: spec("t", a.src, a.dst, reference="r" * 256), R.REFERENCE_INVALID),
        (
            lambda a: spec("t", a.src, a.dst, timeout_seconds=5),
            R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER,
        ),
        (
            lambda a: spec("t", a.src, a.dst, pending=True, timeout_seconds=0),
            R.TIMEOUT_MUST_BE_POSITIVE,
        ),
        (lambda a: PostPending("t", ""), R.PENDING_ID_INVALID),
        (lambda a: PostPending("t", "t"), R.PENDING_ID_MUST_BE_DIFFERENT),
        (lambda a: PostPending("t", "p", amount=0), R.AMOUNT_MUST_BE_POSITIVE),
        (lambda a: VoidPending("t", "t"), R.PENDING_ID_MUST_BE_DIFFERENT),
        (lambda a: Reversal("t", "bad id"), R.REVERSES_INVALID),
        (lambda a: Reversal("t", "t"), R.REVERSES_MUST_BE_DIFFERENT),
    ],
)
def test_input_codes(books, acct, make, code):
    result = books.one(make(acct))
    assert result.code is code and result.transfer is None


def test_wrong_types_fail_loudly():
    with pytest.raises(TypeError):
        TransferSpec("t", "a", "b", 1.5, "EUR", "c", "r")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TransferSpec("t", "a", "b", True, "EUR", "c", "r")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TransferSpec("t", "a", "b", 1, "EUR", "c", "r", metadata={"rate": 0.5})
    with pytest.raises(TypeError):
        PostPending("t", "p", amount=2.0)  # type: ignore[arg-type]


# -- state codes ---------------------------------------------------------------------------


def test_missing_accounts_and_currency_mismatch(books, acct):
    assert books.one(spec("t1", "la_nope", acct.dst)).code is R.DEBIT_ACCOUNT_NOT_FOUND
    assert books.one(spec("t2", acct.src, "la_nope")).code is R.CREDIT_ACCOUNT_NOT_FOUND
    assert books.one(spec("t3", acct.src, acct.usd)).code is R.CURRENCY_MISMATCH
    assert books.one(spec("t4", acct.src, acct.dst, currency="USD")).code is R.CURRENCY_MISMATCH
    assert books.verify().ok


def test_limits(books, acct):
    books.one(spec("fund", acct.src, acct.avail, 100))
    assert books.one(spec("over", acct.avail, acct.dst, 101)).code is R.EXCEEDS_CREDITS
    assert books.one(spec("hold", acct.avail, acct.dst, 60, pending=True)).code is R.OK
    # the reservation counts: only 40 remain
    assert books.one(spec("over2", acct.avail, acct.dst, 41)).code is R.EXCEEDS_CREDITS
    assert books.one(spec("exact", acct.avail, acct.dst, 40)).code is R.OK
    assert books.balance(acct.avail).available == 0
    # credits_must_not_exceed_debits
    assert books.one(spec("c1", acct.src, acct.capped, 1)).code is R.EXCEEDS_DEBITS
    books.one(spec("c2", acct.capped, acct.dst, 10))
    assert books.one(spec("c3", acct.src, acct.capped, 10)).code is R.OK
    assert books.one(spec("c4", acct.src, acct.capped, 1)).code is R.EXCEEDS_DEBITS
    assert books.verify().ok


def test_pending_codes(books, acct, clock):
    assert books.one(PostPending("x", "nope")).code is R.PENDING_TRANSFER_NOT_FOUND
    books.one(spec("posted", acct.src, acct.dst))
    assert books.one(PostPending("x2", "posted")).code is R.PENDING_TRANSFER_NOT_PENDING
    books.one(spec("p1", acct.src, acct.dst, 100, pending=True))
    assert books.one(PostPending("p1:big", "p1", 101)).code is R.EXCEEDS_PENDING_TRANSFER_AMOUNT
    assert books.one(PostPending("p1:post", "p1", 100)).code is R.OK
    assert books.one(VoidPending("p1:void", "p1")).code is R.PENDING_TRANSFER_ALREADY_POSTED
    assert books.one(PostPending("p1:again", "p1")).code is R.PENDING_TRANSFER_ALREADY_POSTED
    books.one(spec("p2", acct.src, acct.dst, 100, pending=True))
    assert books.one(VoidPending("p2:void", "p2")).code is R.OK
    assert books.one(PostPending("p2:post", "p2")).code is R.PENDING_TRANSFER_ALREADY_VOIDED
    books.one(spec("p3", acct.src, acct.dst, 100, pending=True, timeout_seconds=30))
    clock.advance(30)
    # timed out, not yet swept: already refused
    assert books.one(PostPending("p3:post", "p3")).code is R.PENDING_TRANSFER_EXPIRED
    with books.db.transaction() as session:
        swept = books.ledger(session).expire_pending()
    assert [r.id for r in swept] == ["ledger:expire:p3"] and swept[0].code is R.OK
    assert books.one(VoidPending("p3:void", "p3")).code is R.PENDING_TRANSFER_EXPIRED
    assert books.balance(acct.src).totals.debits_pending == 0
    assert books.verify().ok


def test_expiry_cannot_come_early():
    """The ledger's own expiry refuses a reservation that has not timed out (pure engine)."""
    import datetime as dt

    from settlement.ledger.engine import AccountState, Chain, Engine, LedgerState
    from settlement.ledger.records import Transfer

    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    pending = Transfer(
        "p", 1, TransferKind.PENDING, "a", "b", "EUR", 5, 0, None, None, 60,
        now + dt.timedelta(seconds=60), "c", "r", None, now, {}, "x",
    )  # fmt: skip
    state = LedgerState(
        accounts={
            "a": AccountState("a", "EUR", False, False, debits_pending=5),
            "b": AccountState("b", "EUR", False, False, credits_pending=5),
        },
        transfers={"p": pending},
    )
    outcome = Engine(state, now, lambda: "jrn").run([Chain([Expiry.of("p")])])
    assert outcome.results[0][0].code is R.PENDING_TRANSFER_NOT_EXPIRED
    assert outcome.transfers == [] and outcome.deltas == {} and outcome.failed == []


def test_reversal_codes(books, acct):
    assert books.one(Reversal("r0", "nope")).code is R.TRANSFER_NOT_FOUND
    books.one(spec("p1", acct.src, acct.dst, pending=True))
    assert books.one(Reversal("r1", "p1")).code is R.TRANSFER_NOT_REVERSIBLE
    books.one(VoidPending("p1:void", "p1"))
    assert books.one(Reversal("r2", "p1:void")).code is R.TRANSFER_NOT_REVERSIBLE
    books.one(spec("t1", acct.src, acct.dst))
    assert books.one(Reversal("t1:rev", "t1")).code is R.OK
    assert books.one(Reversal("t1:rev2", "t1")).code is R.ALREADY_REVERSED
    assert books.one(Reversal("t1:rev:rev", "t1:rev")).code is R.TRANSFER_NOT_REVERSIBLE
    assert books.balance(acct.src).posted == 0
    assert books.verify().ok


def test_reversal_respects_limits(books, acct):
    books.one(spec("in", acct.src, acct.avail, 100))
    books.one(spec("out", acct.avail, acct.dst, 100))
    # undoing the credit would take the merchant below zero
    assert books.one(Reversal("in:rev", "in")).code is R.EXCEEDS_CREDITS
    assert books.one(Reversal("out:rev", "out")).code is R.OK
    assert books.one(Reversal("in:rev2", "in")).code is R.OK
    assert books.balance(acct.avail).posted == 0


def test_partial_post_reversal_returns_the_posted_part(books, acct):
    books.one(spec("p1", acct.src, acct.dst, 100, pending=True))
    books.one(PostPending("p1:post", "p1", 30))
    result = books.one(Reversal("p1:post:rev", "p1:post"))
    assert result.code is R.OK and result.transfer is not None and result.transfer.amount == 30
    assert result.transfer.debit_account_id == acct.dst
    assert books.balance(acct.src).totals == books.balance(acct.src).totals.__class__(0, 30, 0, 30)


MAX = MAX_MINOR_AMOUNT


def test_overflow_codes(books, acct):
    a, b, c = books.adhoc("o_a"), books.adhoc("o_b"), books.adhoc("o_c")
    assert books.one(spec("max", a, b, MAX)).code is R.OK
    assert books.one(spec("o1", a, c, 1)).code is R.OVERFLOWS_DEBITS_POSTED
    assert books.one(spec("o2", c, b, 1)).code is R.OVERFLOWS_CREDITS_POSTED
    assert books.one(spec("o3", a, c, 1, pending=True)).code is R.OVERFLOWS_DEBITS_POSTED
    d, e, f = books.adhoc("o_d"), books.adhoc("o_e"), books.adhoc("o_f")
    assert books.one(spec("pmax", d, e, MAX, pending=True)).code is R.OK
    assert books.one(spec("o4", d, f, 1, pending=True)).code is R.OVERFLOWS_DEBITS_PENDING
    assert books.one(spec("o5", f, e, 1, pending=True)).code is R.OVERFLOWS_CREDITS_PENDING
    assert books.one(spec("o6", d, f, 1)).code is R.OVERFLOWS_DEBITS
    assert books.one(spec("o7", f, e, 1)).code is R.OVERFLOWS_CREDITS
    g, h = books.adhoc("o_g"), books.adhoc("o_h")
    huge = 10 * 366 * 24 * 3600 + 1
    assert books.one(spec("o8", g, h, 1, pending=True, timeout_seconds=huge)).code is (
        R.OVERFLOWS_TIMEOUT
    )
    # the maximal reservation still posts exactly
    assert books.one(PostPending("pmax:post", "pmax")).code is R.OK
    assert books.balance(d).totals.debits_posted == MAX
    assert books.verify().ok


# -- journals ------------------------------------------------------------------------------


def test_journal_all_or_nothing(books, acct):
    books.one(spec("fund", acct.src, acct.avail, 100))
    results = books.post(
        [
            spec("j1", acct.src, acct.dst, 10),
            spec("j2", acct.avail, acct.dst, 500),  # fails
            spec("j3", acct.src, acct.dst, 10),
        ],
        journal=True,
    )
    assert [r.code for r in results] == [
        R.LINKED_EVENT_FAILED,
        R.EXCEEDS_CREDITS,
        R.LINKED_EVENT_FAILED,
    ]
    assert books.balance(acct.dst).totals.credits_posted == 0
    # the ids that did not fail themselves are free to use
    assert books.one(spec("j1", acct.src, acct.dst, 10)).code is R.OK
    assert books.one(spec("j2", acct.avail, acct.dst, 5)).code is R.ID_ALREADY_FAILED
    assert books.verify().ok


def test_journal_records_header_and_reposts_idempotently(books, acct):
    header = Journal(code="capture", reference="pi_1", metadata={"k": "v"})
    ops = [spec("c1", acct.src, acct.dst, 10), spec("c2", acct.dst, acct.src, 3)]
    first = books.post(ops, journal=header)
    assert all(r.code is R.OK for r in first)
    journal_id = first[0].journal_id
    assert journal_id and journal_id.startswith("jrn_") and first[1].journal_id == journal_id
    again = books.post(ops, journal=header)
    assert [r.code for r in again] == [R.EXISTS, R.EXISTS]
    assert again[0].journal_id == journal_id
    with books.db.transaction() as session:
        record = books.ledger(session).journal(journal_id)
        assert record is not None and (record.code, record.reference) == ("capture", "pi_1")
        page = books.ledger(session).transfers(journal_id=journal_id)
        assert {t.id for t in page} == {"c1", "c2"}
    assert books.verify().journals == 1


def test_journal_mixing_existing_and_new_transfers_is_refused(books, acct):
    books.one(spec("m1", acct.src, acct.dst, 10))
    results = books.post(
        [spec("m1", acct.src, acct.dst, 10), spec("m2", acct.src, acct.dst, 5)], True
    )
    assert [r.code for r in results] == [R.JOURNAL_PARTIALLY_EXISTS, R.LINKED_EVENT_FAILED]
    assert books.balance(acct.dst).totals.credits_posted == 10


def test_journal_can_reserve_and_post_within_itself(books, acct):
    results = books.post(
        [
            spec("h", acct.src, acct.dst, 50, pending=True),
            PostPending("h:post", "h", 20),
            Reversal("h:post:rev", "h:post"),
        ],
        journal=True,
    )
    assert [r.code for r in results] == [R.OK, R.OK, R.OK]
    assert books.balance(acct.src).totals.debits_posted == 20
    assert books.balance(acct.src).totals.credits_posted == 20
    assert books.verify().ok


def test_independent_batch_sees_earlier_items(books, acct):
    results = books.post(
        [
            spec("b1", acct.src, acct.avail, 100),
            spec("b2", acct.avail, acct.dst, 80),
            spec("b3", acct.avail, acct.dst, 80),  # only 20 left
            spec("b1", acct.src, acct.avail, 100),  # duplicate within the batch
            spec("b3", acct.avail, acct.dst, 10),  # failed earlier in the batch
        ]
    )
    assert [r.code for r in results] == [
        R.OK,
        R.OK,
        R.EXCEEDS_CREDITS,
        R.EXISTS,
        R.ID_ALREADY_FAILED,
    ]
    assert books.balance(acct.avail).posted == 20


def test_post_journals_applies_each_journal_on_its_own(books, acct, db):
    with db.transaction() as session:
        results = books.ledger(session).post_journals(
            [
                (
                    Journal(code="a"),
                    [spec("a1", acct.src, acct.dst), spec("a2", acct.src, acct.dst)],
                ),
                (Journal(code="b"), [spec("b1", acct.avail, acct.dst)]),  # fails: no funds
                (Journal(code="c"), [spec("c1", acct.src, acct.dst)]),
            ]
        )
    assert [[r.code for r in chain] for chain in results] == [
        [R.OK, R.OK],
        [R.EXCEEDS_CREDITS],
        [R.OK],
    ]
    assert results[0][0].journal_id != results[2][0].journal_id
    assert books.verify().journals == 2


def test_post_or_raise_names_the_root_cause(books, acct, db):
    with pytest.raises(LedgerError) as raised, db.transaction() as session:
        books.ledger(session).post_or_raise(
            [spec("x1", acct.src, acct.dst), spec("x2", acct.src, acct.usd)], journal=True
        )
    assert (raised.value.code, raised.value.transfer_id) == ("currency_mismatch", "x2")


def test_ad_hoc_account_needs_a_normal_side(books):
    with pytest.raises(LedgerError) as raised:
        books.account("platform", "suspense", "EUR")
    assert raised.value.code == "account_normal_side_required"
    account = books.account("platform", "suspense", "EUR", normal=Side.DEBIT)
    assert account.normal is Side.DEBIT and not account.debits_must_not_exceed_credits
