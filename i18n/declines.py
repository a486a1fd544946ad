"""Card decline messages in the payer's language; the decline *code* never changes.

Integrations branch on the stable ``decline_code`` (Stripe's vocabulary); people read
the ``message``. Like Stripe, codes that reveal a fraud suspicion or the state of the
card to a possibly fraudulent payer (``lost_card``, ``stolen_card``, ``fraudulent``,
``pickup_card``, ...) are shown as the generic decline, so the wording can never tip
off whoever holds a stolen card. Unknown codes are shown generically too.
"""

from __future__ import annotations

from typing import Final

from i18n.catalogs import N_, translations
from i18n.locales import require_supported

_GENERIC: Final = N_("Your card was declined.")

_MESSAGES: Final[dict[str, str]] = {
    "generic_decline": _GENERIC,
    "card_declined": _GENERIC,
    "do_not_honor": _GENERIC,
    # Shown generically on purpose: the true reason must not reach the card holder.
    "lost_card": _GENERIC,
    "stolen_card": _GENERIC,
    "fraudulent": _GENERIC,
    "pickup_card": _GENERIC,
    "restricted_card": _GENERIC,
    "merchant_blacklist": _GENERIC,
    "insufficient_funds": N_("Your card has insufficient funds."),
    "expired_card": N_("Your card has expired."),
    "incorrect_cvc": N_("Your card's security code is incorrect."),
    "invalid_cvc": N_("Your card's security code is incorrect."),
    "incorrect_number": N_("Your card number is incorrect."),
    "processing_error": N_(
        "An error occurred while processing your card. Please try again in a moment."
    ),
    "authentication_required": N_(
        "Your card was declined. This transaction requires authentication."
    ),
    "card_not_supported": N_("Your card does not support this type of purchase."),
    "currency_not_supported": N_("Your card does not support this currency."),
    "card_velocity_exceeded": N_(
        "Your card was declined because of too many attempts. Please try again later."
    ),
}

DECLINE_CODES: Final[frozenset[str]] = frozenset(_MESSAGES)
"""Decline codes with a specific message; any other code gets the generic one."""


def decline_message(code: str | None, locale: str) -> str:
    """The payer-facing message for a decline code, translated into ``locale``."""
    message = _MESSAGES.get(code or "", _GENERIC)
    return translations(require_supported(locale)).gettext(message)


def decline_message_id(code: str | None) -> str:
    """The English source message for a code (what ``locale="en"`` shows)."""
    return _MESSAGES.get(code or "", _GENERIC)
