"""Every table of the service, imported in one place.

The app, the CLI, migrations (autogenerate) and the schema test import this module so
that ``Base.metadata`` describes the whole database. api is the composition root, so it is
the one package allowed to know every domain.
"""

from __future__ import annotations

import api.idempotency
import api.keys
import core.accounts
import core.events
import core.jobs
import core.vault
import payments.methods
import payments.webhooks
import settlement.fees.store
import settlement.fx.overrides
import settlement.fx.quotes
import settlement.fx.residuals

__all__ = ["api", "core", "payments", "settlement"]
