"""Who is looking at the console, and which sections their role opens.

The same roles as the API (:mod:`api.auth`): compliance officers see the compliance
section, finance the finance section, a merchant only its own account's pages, and an
admin both platform sections. Any other section answers 403; another account's object
answers 404 (a merchant must not even learn that it exists).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from api.auth import ADMIN, COMPLIANCE, FINANCE, MERCHANT

SECTIONS: Final[dict[str, frozenset[str]]] = {
    "compliance": frozenset({COMPLIANCE, ADMIN}),
    "finance": frozenset({FINANCE, ADMIN}),
    "merchant": frozenset({MERCHANT}),
}
"""Section name -> roles that may open it."""

HOME: Final[dict[str, str]] = {
    MERCHANT: "/console/merchant",
    COMPLIANCE: "/console/compliance",
    FINANCE: "/console/finance",
    ADMIN: "/console/compliance",
}


@dataclass(frozen=True)
class Viewer:
    """The signed-in person, as the session recorded them."""

    session_id: str
    key_id: str
    role: str
    account_id: str | None
    csrf_token: str

    @property
    def actor(self) -> str:
        """How decisions are attributed in reviews and the audit trail: the key's id, as
        the API attributes them, so one officer's work reads the same from either door."""
        return self.key_id

    @property
    def sections(self) -> tuple[str, ...]:
        return tuple(name for name, allowed in SECTIONS.items() if self.role in allowed)

    @property
    def home(self) -> str:
        return HOME[self.role]

    def may_open(self, section: str) -> bool:
        return self.role in SECTIONS.get(section, frozenset())

    def owns(self, account_id: str | None) -> bool:
        """Objects a merchant may see: its own account's, and nothing else."""
        return self.role == MERCHANT and account_id is not None and account_id == self.account_id
