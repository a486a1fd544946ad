"""Payments: intents, payment methods, rail adapters and the card/bank vault.

Building blocks (pure logic apart from the vault's table):

- :mod:`payments.cards` — card checks, brand, fingerprint; :mod:`payments.bins` — the
  BIN table (data); :mod:`payments.stripe_test_cards` — Stripe's ``pm_card_*`` ids.
- :mod:`core.vault` / :mod:`core.keyring` — AES-GCM tokenisation with
  rotating keys.
- :mod:`payments.intent_state` — the PaymentIntent state machine.
- :mod:`payments.rails` — one adapter per rail behind :class:`payments.rails.base.RailAdapter`.
- :mod:`payments.webhook_signature` / :mod:`payments.webhook_retry` — Stripe-style
  signatures and the outbound retry schedule.
"""
