"""Every table of the service, imported in one place.

The app, the CLI, migrations (autogenerate) and the schema test import this module so
that ``Base.metadata`` describes the whole database. api is the composition root, so it is
the one package allowed to know every domain.
"""

from __future__ import annotations

import api.console.sessions
import api.idempotency
import api.keys
import api.receipts
import compliance.audit
import compliance.reviews.tables
import compliance.rules.observations
import compliance.rules.store
import compliance.sanctions.tables
import core.accounts
import core.events
import core.jobs
import core.vault
import payments.bank_credits
import payments.charges
import payments.intents
import payments.methods
import payments.notifications
import payments.refunds
import payments.webhooks
import settlement.balance_transactions
import settlement.fees.store
import settlement.fx.overrides
import settlement.fx.quotes
import settlement.fx.residuals
import settlement.ledger.tables
import settlement.payouts.automatic
import settlement.payouts.tables
import settlement.reconciliation.jobs
import settlement.reconciliation.tables
import settlement.runs.jobs
import settlement.runs.tables

__all__ = ["api", "compliance", "core", "payments", "settlement"]
