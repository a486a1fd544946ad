"""How the domains are joined at run time, once per process (app, worker, CLI).

Each domain exposes hooks and registries instead of importing the others: payments
tells reconciliation what to expect on statements, reconciliation confirms payouts
through settlement's service, compliance plugs its checks into payments and payouts.
The composition root connects them here.
"""

from __future__ import annotations

import importlib
import threading

_lock = threading.Lock()
_installed = False


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        import payments.bank_credits
        import settlement.reconciliation

        payments.bank_credits.install()
        settlement.reconciliation.install_payouts_link()
        try:
            compliance = importlib.import_module("api.compliance_wiring")
        except ModuleNotFoundError:
            compliance = None
        if compliance is not None:
            compliance.install()
        _installed = True
