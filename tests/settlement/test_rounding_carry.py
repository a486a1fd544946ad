"""The fx_rounding carry: whole units to the ledger, the exact residual kept."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from core.database import Database
from settlement.fx import carry, lock_residual, save_residual


def test_residual_below_one_unit_books_nothing() -> None:
    step = carry("EUR", Decimal(0), Decimal("0.370679380216"))
    assert step.units == 0
    assert step.residual_after == Decimal("0.370679380216")


def test_crossing_a_unit_books_it_in_both_directions() -> None:
    gain = carry("EUR", Decimal("0.7"), Decimal("0.45"))
    assert (gain.units, gain.residual_after) == (1, Decimal("0.15"))
    loss = carry("EUR", Decimal("-0.6"), Decimal("-0.5"))
    assert (loss.units, loss.residual_after) == (-1, Decimal("-0.1"))
    back = carry("EUR", Decimal("0.3"), Decimal("-0.5"))
    assert (back.units, back.residual_after) == (0, Decimal("-0.2"))
    # A refund's remainder can approach two units; the residual still stays within one.
    wide = carry("JPY", Decimal("0.9"), Decimal("1.0"))
    assert (wide.units, wide.residual_after) == (1, Decimal("0.9"))


def test_every_fraction_is_accounted_for() -> None:
    remainders = [Decimal(f"0.{n:03d}") * (-1) ** n for n in range(1, 200)]
    residual, units = Decimal(0), 0
    for remainder in remainders:
        step = carry("EUR", residual, remainder)
        assert -1 < step.residual_after < 1
        residual, units = step.residual_after, units + step.units
    assert units + residual == sum(remainders)


@pytest.mark.parametrize("residual", [Decimal(1), Decimal(-1), Decimal("NaN")])
def test_residual_must_lie_within_one_unit(residual: Decimal) -> None:
    with pytest.raises(ValueError):
        carry("EUR", residual, Decimal("0.1"))


def test_residual_is_stored_exactly_per_currency(db: Database) -> None:
    with db.transaction() as session:
        assert lock_residual(session, "EUR") == 0
        save_residual(session, "EUR", Decimal("0.370679380216"))
        assert lock_residual(session, "JPY") == 0
    with db.transaction() as session:
        assert lock_residual(session, "eur") == Decimal("0.370679380216")
        assert lock_residual(session, "JPY") == 0
        with pytest.raises(ValueError):
            save_residual(session, "EUR", Decimal("1.5"))


@pytest.mark.postgres
def test_concurrent_carries_lose_no_fraction(db: Database) -> None:
    remainders = [Decimal("0.37"), Decimal("-0.21"), Decimal("0.49"), Decimal("0.33")] * 10
    booked: list[int] = []
    lock = threading.Lock()

    def capture(remainder: Decimal) -> None:
        def work(session):
            residual = lock_residual(session, "EUR")
            step = carry("EUR", residual, remainder)
            save_residual(session, "EUR", step.residual_after)
            return step.units

        units = db.run(work)
        with lock:
            booked.append(units)

    threads = [threading.Thread(target=capture, args=(r,)) for r in remainders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with db.transaction() as session:
        residual = lock_residual(session, "EUR")
    assert len(booked) == len(remainders)
    assert sum(booked) + residual == sum(remainders)
