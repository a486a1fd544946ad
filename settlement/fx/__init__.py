"""Foreign exchange: rates (ECB offline + treasury overrides), quotes, conversions, rounding.

Public surface (import from here):

* rates: :class:`Rate`, :class:`RateSource`, :class:`RateFeed`, :class:`RateNotFound`,
  :class:`RateBook`, :func:`default_rate_book`, :class:`EcbRates`, :func:`add_override`
* locking: :class:`LockedRate`, :func:`create_quote`, :func:`use_quote`, :func:`get_quote`
* converting: :func:`convert` -> :class:`Conversion`, :func:`carry` -> :class:`RoundingCarry`,
  :func:`lock_residual` / :func:`save_residual`
"""

from settlement.fx.book import RateBook, default_rate_book
from settlement.fx.conversion import ROUNDING_MODES, Conversion, ConversionError, convert
from settlement.fx.ecb import EcbRates
from settlement.fx.locked_rate import PPM, LockedRate
from settlement.fx.overrides import FxRateOverride, OverrideRates, RateOverride, add_override
from settlement.fx.quotes import (
    FxQuoteRecord,
    Quote,
    QuoteAlreadyUsed,
    QuoteError,
    QuoteExpired,
    QuoteMismatch,
    QuoteNotFound,
    create_quote,
    get_quote,
    use_quote,
)
from settlement.fx.rates import Rate, RateFeed, RateNotFound, RateSource
from settlement.fx.residuals import FxRoundingResidual, lock_residual, save_residual
from settlement.fx.rounding import RoundingCarry, carry

__all__ = [
    "PPM",
    "ROUNDING_MODES",
    "Conversion",
    "ConversionError",
    "EcbRates",
    "FxQuoteRecord",
    "FxRateOverride",
    "FxRoundingResidual",
    "LockedRate",
    "OverrideRates",
    "Quote",
    "QuoteAlreadyUsed",
    "QuoteError",
    "QuoteExpired",
    "QuoteMismatch",
    "QuoteNotFound",
    "Rate",
    "RateBook",
    "RateFeed",
    "RateNotFound",
    "RateOverride",
    "RateSource",
    "RoundingCarry",
    "add_override",
    "carry",
    "convert",
    "create_quote",
    "default_rate_book",
    "get_quote",
    "lock_residual",
    "save_residual",
    "use_quote",
]
