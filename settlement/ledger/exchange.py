"""Cross-currency movements as one journal through the platform's FX positions.

A transfer never crosses currencies. Converting ``S`` source minor units into ``T``
target minor units is three same-currency legs in one journal:

==========  ==========================  ===========================  ==================
leg         debit                       credit                       amount
==========  ==========================  ===========================  ==================
``:sell``   the source account          ``fx_position`` (source)     ``S`` (source)
``:buy``    ``fx_position`` (target)    the target account           ``T`` (target)
``:round``  ``fx_position`` (target)    ``fx_rounding`` (target)     ``R`` if ``R > 0``
``:round``  ``fx_rounding`` (target)    ``fx_position`` (target)     ``-R`` if ``R < 0``
==========  ==========================  ===========================  ==================

Every leg is a same-currency transfer, so the journal balances in each currency on its
own. The FX position in the target currency gives up ``T + R``: the value of ``S`` at
the recorded rate, rounded to the minor unit however the FX module decides. ``R`` is
the whole-minor-unit difference between that and what the target account receives
(e.g. the customer amount rounded down, the position rounded half-even); it is booked
to ``fx_rounding`` instead of disappearing. What this module checks is that the amounts
agree with the rate: ``|S * rate - (T + R)| < 1`` target minor unit, computed exactly.

The rate arithmetic itself (quotes, spreads, rounding modes) belongs to the FX module;
this one only accepts its result and refuses one that does not add up.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from core.money import currency_code, exponent

from .codes import LedgerError
from .specs import Journal, Metadata, TransferSpec, freeze_metadata

_EXACT = decimal.Context(prec=100, rounding=decimal.ROUND_HALF_EVEN, traps=[decimal.Inexact])


@dataclass(frozen=True, slots=True)
class Exchange:
    """``source_amount`` of ``source_currency`` becomes ``target_amount`` of ``target_currency``.

    ``rate`` is target major units per one source major unit (e.g. EUR per JPY), the
    all-in rate the amounts were computed with; ``rounding`` is ``R`` above, in target
    minor units.
    """

    id: str
    reference: str
    source_account: str
    source_amount: int
    source_currency: str
    target_account: str
    target_amount: int
    target_currency: str
    rate: Decimal
    quote_id: str | None = None
    rounding: int = 0
    code: str = "fx"
    metadata: Metadata = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("source_amount", "target_amount", "rounding"):
            if type(getattr(self, name)) is not int:
                raise TypeError(f"{name} must be an int of minor units")
        if not isinstance(self.rate, Decimal):
            raise TypeError("rate must be a Decimal (never a float)")
        object.__setattr__(self, "metadata", freeze_metadata(self.metadata))


def check_exchange(exchange: Exchange) -> None:
    """Refuse an exchange whose amounts do not follow from its rate (``LedgerError``)."""
    source = currency_code(exchange.source_currency)
    target = currency_code(exchange.target_currency)
    if source == target:
        raise LedgerError("fx_same_currency", exchange.id, "an exchange needs two currencies")
    if exchange.source_amount <= 0 or exchange.target_amount <= 0:
        raise LedgerError("fx_amount_must_be_positive", exchange.id)
    if not exchange.rate.is_finite() or exchange.rate <= 0:
        raise LedgerError("fx_rate_invalid", exchange.id, f"rate {exchange.rate} is not positive")
    exact = _EXACT.multiply(
        Decimal(exchange.source_amount).scaleb(-exponent(source), _EXACT), exchange.rate
    ).scaleb(exponent(target), _EXACT)
    booked = exchange.target_amount + exchange.rounding
    if booked <= 0 or abs(exact - booked) >= 1:
        raise LedgerError(
            "fx_amounts_inconsistent",
            exchange.id,
            f"{exchange.source_amount} {source} at {exchange.rate} is {exact} {target} minor"
            f" units, but target {exchange.target_amount} + rounding {exchange.rounding}"
            f" = {booked}",
        )


def exchange_legs(
    exchange: Exchange, positions: Mapping[str, str], rounding_account: str
) -> tuple[list[TransferSpec], Journal]:
    """The legs and journal header of ``exchange``.

    ``positions`` maps each currency to the platform's ``fx_position`` account in it;
    ``rounding_account`` is the ``fx_rounding`` account in the target currency.
    """
    check_exchange(exchange)
    source = currency_code(exchange.source_currency)
    target = currency_code(exchange.target_currency)
    common = {"code": exchange.code, "reference": exchange.reference}
    legs = [
        TransferSpec(
            id=f"{exchange.id}:sell",
            debit=exchange.source_account,
            credit=positions[source],
            amount=exchange.source_amount,
            currency=source,
            **common,
        ),
        TransferSpec(
            id=f"{exchange.id}:buy",
            debit=positions[target],
            credit=exchange.target_account,
            amount=exchange.target_amount,
            currency=target,
            **common,
        ),
    ]
    if exchange.rounding:
        gained = exchange.rounding > 0
        legs.append(
            TransferSpec(
                id=f"{exchange.id}:round",
                debit=positions[target] if gained else rounding_account,
                credit=rounding_account if gained else positions[target],
                amount=abs(exchange.rounding),
                currency=target,
                **common,
            )
        )
    journal = Journal(
        code=exchange.code,
        reference=exchange.reference,
        rate=exchange.rate,
        quote_id=exchange.quote_id,
        metadata={
            **exchange.metadata,
            "source_currency": source,
            "source_amount": exchange.source_amount,
            "target_currency": target,
            "target_amount": exchange.target_amount,
            "rounding": exchange.rounding,
        },
    )
    return legs, journal
