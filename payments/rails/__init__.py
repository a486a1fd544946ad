"""Rail adapters: one per way money moves (cards, wallets, bank transfers).

Each implements :class:`payments.rails.base.RailAdapter`; the intent service picks one
per payment method type (and, for cards, per account and currency) and never talks to
a processor any other way.
"""
