"""Data files of the payments domain (BIN table, Stripe test cards, sandbox behaviours).

A package of its own so ``importlib.resources.files("payments.data")`` finds the files
wherever ``payments`` is installed from.
"""
