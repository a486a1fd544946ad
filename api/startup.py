"""Reference data loaded when a server process starts, not by its first requests.

Several tables are parsed once per process and then cached: the ECB rate history, the
country lists of the compliance rules (which validate subdivision codes against
pycountry's database), the card BIN table and the sandbox card behaviours. Lazily, a
fresh worker's first payments would each wait for a second or more of parsing (and
every request queued behind them on the same worker): after a deploy or a scale-out
that is a latency spike on live traffic. Loading them before the worker takes traffic
moves that cost to startup.
"""

from __future__ import annotations

from compliance.rules.countries import load_country_lists
from payments.bins import default_bin_table
from payments.rails.sandbox_card import sandbox_card_behaviours
from payments.stripe_test_cards import stripe_test_cards
from settlement.fx.ecb import EcbRates


def load_reference_data() -> None:
    EcbRates.bundled()
    load_country_lists()
    default_bin_table()
    sandbox_card_behaviours()
    stripe_test_cards()
