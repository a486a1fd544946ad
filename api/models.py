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
import payments.vault
import payments.webhooks

__all__ = ["api", "core", "payments"]
