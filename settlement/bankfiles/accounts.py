"""Bank accounts of payout beneficiaries and of the platform, validated before any file.

Two ways to name an account:

* **IBAN** (optionally with a BIC), checked with ``schwifty``: country format, length and
  check digits; a BIC is checked the same way and, if missing, looked up from the IBAN's
  bank code when schwifty's registry knows it.
* **account number + routing code** for countries without IBAN, and for domestic
  clearing where both exist (UK sort codes). Each supported scheme normalises the
  routing code and names the ISO 20022 clearing system (``ClrSysId/Cd``):

  ====  =======  ===============================================  =====================
  US    USABA    ABA routing transit number, 9 digits, checksum   (``python-stdnum``)
  CA    CACPA    ``0`` + institution (3) + transit (5)            accepts ``TTTTT-III``
  GB    GBDSC    sort code, 6 digits                              accepts ``12-34-56``
  AU    AUBSB    BSB, 6 digits                                    accepts ``123-456``
  JP    JPZGN    Zengin bank (4) + branch (3) code                accepts ``0001-001``
  IN    INFSC    IFSC: 4 letters, ``0``, 6 letters/digits
  ====  =======  ===============================================  =====================

A country that uses IBAN and has no domestic scheme here (e.g. DE) refuses an account
number: its accounts are named by IBAN. Every refusal is a :class:`BankAccountError`
naming the offending field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import pycountry
from schwifty import BIC, IBAN, registry
from schwifty.exceptions import InvalidCountryCode, SchwiftyException
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.us import rtn


class BankAccountError(ValueError):
    """An account that cannot receive (or send) a payout; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class RoutingScheme:
    country: str
    clearing_system: str
    routing_name: str
    normalise: Callable[[str], str]
    account_pattern: re.Pattern[str]


def _digits(count: int, separators: str = "- ") -> Callable[[str], str]:
    def normalise(text: str) -> str:
        compact = re.sub(f"[{re.escape(separators)}]", "", text)
        if not re.fullmatch(rf"\d{{{count}}}", compact):
            raise ValueError(f"expected {count} digits")
        return compact

    return normalise


def _aba(text: str) -> str:
    try:
        return rtn.validate(text)
    except StdnumError as exc:
        raise ValueError(f"not a valid ABA routing number ({exc})") from exc


def _canadian(text: str) -> str:
    compact = text.replace(" ", "")
    if match := re.fullmatch(r"(\d{5})-(\d{3})", compact):  # transit-institution (MICR order)
        return f"0{match.group(2)}{match.group(1)}"
    if re.fullmatch(r"0\d{8}", compact):
        return compact
    raise ValueError("expected 0IIITTTTT (electronic) or TTTTT-III")


def _ifsc(text: str) -> str:
    compact = text.strip().upper()
    if not re.fullmatch(r"[A-Z]{4}0[A-Z0-9]{6}", compact):
        raise ValueError("expected an IFSC: 4 letters, 0, 6 letters or digits")
    return compact


ROUTING_SCHEMES: Final = {
    scheme.country: scheme
    for scheme in (
        RoutingScheme("US", "USABA", "ABA routing number", _aba, re.compile(r"\d{4,17}")),
        RoutingScheme("CA", "CACPA", "routing number", _canadian, re.compile(r"\d{7,12}")),
        RoutingScheme("GB", "GBDSC", "sort code", _digits(6), re.compile(r"\d{8}")),
        RoutingScheme("AU", "AUBSB", "BSB", _digits(6), re.compile(r"\d{5,9}")),
        RoutingScheme("JP", "JPZGN", "bank and branch code", _digits(7), re.compile(r"\d{7}")),
        RoutingScheme("IN", "INFSC", "IFSC", _ifsc, re.compile(r"\d{9,18}")),
    )
}


@dataclass(frozen=True, slots=True)
class BankAccount:
    """A validated account: either ``iban`` or ``account_number`` + ``routing_code`` is set."""

    holder_name: str
    country: str
    iban: str | None = None
    bic: str | None = None
    account_number: str | None = None
    routing_code: str | None = None
    clearing_system: str | None = None

    @property
    def in_sepa_zone(self) -> bool:
        return self.iban is not None and IBAN(self.iban).in_sepa_zone


def _country(code: str) -> str:
    upper = (code or "").strip().upper()
    if pycountry.countries.get(alpha_2=upper) is None:
        raise BankAccountError("country", f"{code!r} is not an ISO 3166 country code")
    return upper


def _uses_iban(country: str) -> bool:
    try:
        return not registry.get_iban_spec(country).aspirational
    except InvalidCountryCode:
        return False


def _bic(text: str) -> str:
    try:
        return str(BIC(text.replace(" ", "")))
    except SchwiftyException as exc:
        raise BankAccountError("bic", f"{text!r} is not a valid BIC ({exc})") from exc


def _holder(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise BankAccountError("holder_name", "the account holder's name is required")
    if len(cleaned) > 140:
        raise BankAccountError("holder_name", "at most 140 characters")
    return cleaned


def iban_account(holder_name: str, iban: str, bic: str | None = None) -> BankAccount:
    """An account named by IBAN; its country is the IBAN's."""
    try:
        parsed = IBAN(iban)
    except SchwiftyException as exc:
        raise BankAccountError("iban", f"{iban!r} is not a valid IBAN ({exc})") from exc
    checked_bic = _bic(bic) if bic else None
    if checked_bic is None and parsed.bic is not None:
        checked_bic = str(parsed.bic)
    return BankAccount(
        holder_name=_holder(holder_name),
        country=parsed.country_code,
        iban=str(parsed.compact),
        bic=checked_bic,
    )


def domestic_account(
    holder_name: str, country: str, account_number: str, routing_code: str, bic: str | None = None
) -> BankAccount:
    """An account named by number and routing code under the country's clearing scheme."""
    country = _country(country)
    scheme = ROUTING_SCHEMES.get(country)
    if scheme is None:
        if _uses_iban(country):
            raise BankAccountError("iban", f"accounts in {country} are identified by IBAN")
        raise BankAccountError(
            "routing_code", f"no supported domestic routing scheme for {country}"
        )
    try:
        routing = scheme.normalise(routing_code or "")
    except ValueError as exc:
        raise BankAccountError(
            "routing_code", f"{routing_code!r} is not a {country} {scheme.routing_name}: {exc}"
        ) from exc
    number = re.sub(r"[\s-]", "", account_number or "")
    if not scheme.account_pattern.fullmatch(number):
        raise BankAccountError(
            "account_number",
            f"{account_number!r} is not a {country} account number "
            f"({scheme.account_pattern.pattern})",
        )
    return BankAccount(
        holder_name=_holder(holder_name),
        country=country,
        account_number=number,
        routing_code=routing,
        clearing_system=scheme.clearing_system,
        bic=_bic(bic) if bic else None,
    )


def bank_account(
    holder_name: str,
    *,
    iban: str | None = None,
    bic: str | None = None,
    country: str | None = None,
    account_number: str | None = None,
    routing_code: str | None = None,
) -> BankAccount:
    """Validate whichever form was given (the API's beneficiary fields map here one to one)."""
    if iban:
        if account_number or routing_code:
            raise BankAccountError("iban", "give an IBAN or an account number, not both")
        account = iban_account(holder_name, iban, bic)
        if country and _country(country) != account.country:
            raise BankAccountError(
                "country", f"the IBAN is from {account.country}, not {country.upper()}"
            )
        return account
    if not account_number or not routing_code or not country:
        raise BankAccountError(
            "iban", "an IBAN, or a country with an account number and a routing code, is required"
        )
    return domestic_account(holder_name, country, account_number, routing_code, bic)
