"""The PostgreSQL one-round-trip path for lone transfers agrees with the engine.

``PostgresStore.try_lone`` applies a lone transfer only when every state rule holds and
otherwise writes nothing, leaving the engine to decide. These tests post the same
boundary cases with the shortcut on and off and require identical outcomes, and check
that the shortcut is what applied the successful ones.
"""

from __future__ import annotations

import pytest

from core.money import MAX_MINOR_AMOUNT as MAX
from settlement.ledger import Ledger, ResultCode, Side, TransferSpec
from settlement.ledger.storage import postgres

pytestmark = pytest.mark.postgres


def scenario(books, tag: str) -> list[tuple[str, ResultCode, int | None]]:
    """Boundary cases around every rule; returns (id, code, seq is set) per posting."""
    src = books.adhoc(f"{tag}_src")
    merchant = books.account(f"acct_{tag}", "merchant_available").id
    capped = books.adhoc(f"{tag}_capped", credits_must_not_exceed_debits=True)
    big = books.adhoc(f"{tag}_big", normal=Side.CREDIT)
    big_source = books.adhoc(f"{tag}_big_source")
    usd = books.adhoc(f"{tag}_usd", "USD")

    def spec(id: str, debit: str, credit: str, amount: int, **kw) -> TransferSpec:
        return TransferSpec(f"{tag}:{id}", debit, credit, amount, kw.pop("currency", "EUR"),
                            "edge", "ref", **kw)  # fmt: skip

    ops = [
        spec("fund", src, merchant, 100),
        spec("exact", merchant, src, 100),  # exactly the balance: allowed
        spec("one-more", merchant, src, 1),  # exceeds_credits
        spec("hold", src, merchant, 50, pending=True),  # incoming reservation: not spendable
        spec("spend-held", merchant, src, 1),  # exceeds_credits
        spec("cap-1", src, capped, 1),  # exceeds_debits
        spec("cap-fund", capped, src, 7),
        spec("cap-7", src, capped, 7),  # exactly the room: allowed
        spec("max", big_source, big, MAX),
        spec("max+1", src, big, 1),  # overflows_credits_posted
        spec("usd", src, usd, 5),  # currency_mismatch
        spec("nowhere", src, "la_missing", 5),  # credit_account_not_found
        spec("fund", src, merchant, 100),  # exists
        spec("fund", src, merchant, 101),  # exists_with_different_amount
        spec("one-more", merchant, src, 1),  # id_already_failed
        spec("pend-max", src, capped, 1, pending=True, timeout_seconds=60),  # exceeds_debits
    ]
    out = []
    for op in ops:
        result = books.one(op)
        seq = result.transfer.seq if result.transfer is not None else None
        out.append((op.id.split(":", 1)[1], result.code, seq is not None))
    return out


def test_shortcut_and_engine_agree(books, monkeypatch):
    applied: list[str] = []
    original = postgres.PostgresStore.try_lone

    def spying(self, transfer):
        seq = original(self, transfer)
        if seq is not None:
            applied.append(transfer.id)
        return seq

    monkeypatch.setattr(postgres.PostgresStore, "try_lone", spying)
    with_shortcut = scenario(books, "a")
    monkeypatch.setattr(postgres.PostgresStore, "try_lone", lambda self, transfer: None)
    engine_only = scenario(books, "b")
    assert with_shortcut == engine_only
    codes = dict((name, code) for name, code, _ in with_shortcut[:12])
    assert codes == {
        "fund": ResultCode.OK,
        "exact": ResultCode.OK,
        "one-more": ResultCode.EXCEEDS_CREDITS,
        "hold": ResultCode.OK,
        "spend-held": ResultCode.EXCEEDS_CREDITS,
        "cap-1": ResultCode.EXCEEDS_DEBITS,
        "cap-fund": ResultCode.OK,
        "cap-7": ResultCode.OK,
        "max": ResultCode.OK,
        "max+1": ResultCode.OVERFLOWS_CREDITS_POSTED,
        "usd": ResultCode.CURRENCY_MISMATCH,
        "nowhere": ResultCode.CREDIT_ACCOUNT_NOT_FOUND,
    }
    assert [code for _, code, _ in with_shortcut[12:]] == [
        ResultCode.EXISTS,
        ResultCode.EXISTS_WITH_DIFFERENT_AMOUNT,
        ResultCode.ID_ALREADY_FAILED,
        ResultCode.EXCEEDS_DEBITS,
    ]
    # every success of the first run went through the shortcut, and nothing else did
    assert sorted(applied) == sorted(
        f"a:{name}" for name, code, _ in with_shortcut[:12] if code is ResultCode.OK
    )
    assert books.verify().ok


def test_shortcut_results_carry_the_stored_transfer(books):
    src, dst = books.adhoc("s"), books.adhoc("d")
    result = books.one(TransferSpec("lone", src, dst, 42, "EUR", "c", "r", metadata={"k": "v"}))
    with books.db.transaction(write=False) as session:
        stored = Ledger(session).transfer("lone")
    assert result.transfer == stored


def test_a_refusal_on_either_account_changes_neither(books, monkeypatch):
    """The function updates the accounts in id order; when the second one refuses, the
    change already made to the first must be taken back, whichever side that is."""
    answers: list[int | None] = []
    original = postgres.PostgresStore.try_lone

    def spying(self, transfer):
        answers.append(original(self, transfer))
        return answers[-1]

    monkeypatch.setattr(postgres.PostgresStore, "try_lone", spying)
    first = books.adhoc("order_x", debits_must_not_exceed_credits=True)
    second = books.adhoc("order_y", debits_must_not_exceed_credits=True)
    capped = books.adhoc("order_capped", credits_must_not_exceed_debits=True)
    before = {a: books.balance(a) for a in (first, second, capped)}
    refusals = [
        (TransferSpec("x-to-y", first, second, 5, "EUR", "c", "r"), ResultCode.EXCEEDS_CREDITS),
        (TransferSpec("y-to-x", second, first, 5, "EUR", "c", "r"), ResultCode.EXCEEDS_CREDITS),
        # credit side refuses: the debit side (no funds needed here) passed first or second
        (TransferSpec("in-cap", books.adhoc("order_src"), capped, 5, "EUR", "c", "r"),
         ResultCode.EXCEEDS_DEBITS),
    ]  # fmt: skip
    for spec, code in refusals:
        assert books.one(spec).code is code
    assert answers == [None, None, None]
    assert {a: books.balance(a) for a in before} == before
    assert books.verify().ok
