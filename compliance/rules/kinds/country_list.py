"""``country_list``: a party, the card or the IP address is in a listed jurisdiction.

The list is named (``list = "embargoed"``) from the dated country data, or written inline
(``countries = [...]``). Sources checked by default: payer, beneficiary and merchant
countries (and ISO 3166-2 regions, for region-wide embargoes such as Crimea), the card's
issuing country and the IP address's country.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from ..context import PARTY_ROLES, PaymentContext
from ..countries import CountryList
from ..history import WindowQuery
from ..params import Params
from .base import Finding, Inputs

SOURCES = (*PARTY_ROLES, "card", "ip")


@dataclass(frozen=True)
class CountryListRule:
    type_name: ClassVar[str] = "country_list"
    list_name: str | None
    inline: frozenset[str]
    sources: tuple[str, ...]

    @classmethod
    def from_params(cls, params: Params) -> Self:
        list_name = params.text("list")
        inline = params.countries("countries")
        if (list_name is None) == (inline is None):
            params.problem(None, "give either list (a name from the country data) or countries")
        return cls(list_name, frozenset(inline or ()), params.choices("sources", SOURCES, SOURCES))

    def _list(self, inputs: Inputs) -> CountryList | None:
        if self.list_name is None:
            return None
        try:
            return inputs.countries[self.list_name]
        except KeyError:
            raise LookupError(
                f"country list {self.list_name!r} is not in the country data"
            ) from None

    def plan(self, ctx: PaymentContext) -> list[WindowQuery]:
        return []

    def _places(self, ctx: PaymentContext) -> list[tuple[str, str | None, str | None]]:
        places = []
        for source in self.sources:
            if source == "card":
                places.append((source, ctx.card_country, None))
            elif source == "ip":
                places.append((source, ctx.ip_country, None))
            elif (party := ctx.party(source)) is not None:
                places.append((source, party.country, party.region))
        return places

    def check(self, ctx: PaymentContext, inputs: Inputs) -> Finding | None:
        listed = self._list(inputs)
        found = []
        for source, country, region in self._places(ctx):
            if listed is not None:
                if listed.contains(country, None):
                    found.append({"source": source, "country": country})
                elif listed.contains(None, region):
                    found.append({"source": source, "region": region})
            elif country in self.inline:
                found.append({"source": source, "country": country})
        if not found:
            return None
        where = ", ".join(f"{f['source']} {f.get('region') or f['country']}" for f in found)
        if listed is not None:
            reason = f"{where} on list {listed.name} ({listed.title}, as of {listed.as_of})"
            details = {"found": found, **listed.describe()}
        else:
            reason = f"{where} on the rule's country list"
            details = {"found": found}
        return Finding(reason, details)
