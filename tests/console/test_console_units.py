"""The console's pure parts: chart geometry, session expiry, filters, language, redirects."""

from __future__ import annotations

import datetime as dt

import pytest

from api.console.charts import HEIGHT, BarChart, Series, bar_chart, nice_step
from api.console.payment_search import PaymentFilter
from api.console.review_queue import QueueFilter, case_countries, passes
from api.console.sessions import ConsoleSession, SessionPolicy, expires_at, is_live
from api.console.signin import safe_next
from api.console.templating import Formatter
from api.console.translations import choose_locale, console_locale

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


# --- charts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "step"),
    [
        (0, 1),
        (1, 1),
        (4, 1),
        (5, 2),
        (9, 5),
        (20, 5),
        (21, 10),
        (399_999, 100_000),
        (400_001, 200_000),
    ],
)
def test_nice_steps_cover_the_span_in_at_most_four_steps(span: int, step: int) -> None:
    assert nice_step(span) == step
    assert -(-span // step) <= 4


def _bars(chart: BarChart, series: int) -> list[int]:
    return [bar.height for bar in chart.bars if bar.series == series]


def test_grouped_bars_grow_from_zero_in_both_directions() -> None:
    chart = bar_chart(
        ["Mon", "Tue", "Wed"],
        [Series("volume", (1_000, 0, 3_000)), Series("net", (800, -500, 2_600))],
    )
    assert chart.ticks[0].value == -1_000 and chart.ticks[-1].value == 3_000
    positive = next(b for b in chart.bars if b.value == 3_000)
    negative = next(b for b in chart.bars if b.value == -500)
    assert positive.y + positive.height == chart.zero_y  # ends on the zero line, going up
    assert negative.y == chart.zero_y  # starts on it, going down
    # Heights are proportional to the amounts (exact integer scale, rounded down).
    per_thousand = positive.height / 3
    assert abs(negative.height - per_thousand / 2) <= 1
    assert _bars(chart, 0)[1] == 0
    # Two series side by side within each day's slot, never overlapping.
    mon = [b for b in chart.bars if b.category == 0]
    assert mon[0].x + mon[0].width <= mon[1].x
    assert all(0 <= b.y <= HEIGHT for b in chart.bars)


def test_stacked_bars_pile_each_sign_separately() -> None:
    chart = bar_chart(
        ["d1"],
        [Series("matched", (6,)), Series("unmatched", (3,)), Series("open", (1,))],
        stacked=True,
    )
    matched, unmatched, opened = chart.bars
    assert matched.y + matched.height == chart.zero_y
    assert unmatched.y + unmatched.height == matched.y
    assert opened.y + opened.height == unmatched.y
    assert matched.x == unmatched.x == opened.x
    assert chart.ticks[-1].value >= 10


def test_an_empty_chart_has_an_axis_and_no_bars() -> None:
    chart = bar_chart(["a", "b"], [Series("x", (0, 0))])
    assert chart.empty
    assert all(bar.height == 0 for bar in chart.bars)
    assert [t.value for t in chart.ticks] == [0, 1]


def test_series_must_match_the_categories() -> None:
    with pytest.raises(ValueError):
        bar_chart(["a", "b"], [Series("x", (1,))])


def test_category_labels_can_be_thinned() -> None:
    chart = bar_chart([str(n) for n in range(14)], [Series("x", tuple(range(14)))], label_every=2)
    assert [label.text for label in chart.labels] == [str(n) for n in range(0, 14, 2)]


# --- sessions -----------------------------------------------------------------------


def _row(created: dt.datetime, last_seen: dt.datetime, policy: SessionPolicy) -> ConsoleSession:
    return ConsoleSession(
        id="x" * 64,
        key_id="key_x",
        role="finance",
        account_id=None,
        csrf_token="t",
        created=created,
        expires=created + policy.absolute,
        last_seen=last_seen,
    )


def test_a_session_ends_when_idle_or_at_its_absolute_end() -> None:
    policy = SessionPolicy(idle=dt.timedelta(minutes=30), absolute=dt.timedelta(hours=12))
    assert expires_at(T0, T0, policy) == T0 + dt.timedelta(minutes=30)
    late = T0 + dt.timedelta(hours=11, minutes=50)
    assert expires_at(T0, late, policy) == T0 + dt.timedelta(hours=12)
    row = _row(T0, T0 + dt.timedelta(minutes=10), policy)
    assert is_live(row, T0 + dt.timedelta(minutes=39), policy)
    assert not is_live(row, T0 + dt.timedelta(minutes=40), policy)
    busy = _row(T0, T0 + dt.timedelta(hours=11, minutes=59), policy)
    assert is_live(busy, T0 + dt.timedelta(hours=11, minutes=59, seconds=59), policy)
    assert not is_live(busy, T0 + dt.timedelta(hours=12), policy)


# --- filters ------------------------------------------------------------------------


def test_queue_filter_reads_a_query_leniently() -> None:
    f = QueueFilter.from_query(
        {
            "status": "bogus",
            "min_score": "70",
            "older_than_hours": "x",
            "country": "ir",
            "rule": " r ",
        }
    )
    assert f == QueueFilter(status="open", rule="r", min_score=70, country="IR")
    assert QueueFilter.from_query(f.as_query()) == f
    assert QueueFilter.from_query({"country": "IRN"}).country is None


def test_queue_rule_and_country_conditions() -> None:
    hits = [{"rule_id": "sanctions.payer"}, {"rule_id": "amount.large"}]
    counterparty = {
        "payer": {"name": "A", "country": "de"},
        "beneficiary": None,
        "merchant": {"name": "M", "country": "FR"},
        "ip_country": "IR",
        "card_country": None,
    }
    assert case_countries(hits, counterparty) == {"DE", "FR", "IR"}
    assert passes(QueueFilter(rule="amount.large", country="IR"), hits, counterparty)
    assert not passes(QueueFilter(rule="velocity.card"), hits, counterparty)
    assert not passes(QueueFilter(country="JP"), hits, counterparty)
    assert passes(QueueFilter(), [], {})


def test_payment_filter_amounts_need_a_currency_and_use_its_exponent() -> None:
    yen = PaymentFilter.from_query(
        {"currency": "jpy", "amount_min": "1,200", "status": "succeeded"}
    )
    assert (yen.currency, yen.amount_min, yen.status) == ("JPY", 1200, "succeeded")
    dinar = PaymentFilter.from_query({"currency": "BHD", "amount_max": "1.250"})
    assert dinar.amount_max == 1250
    assert PaymentFilter.from_query({"amount_min": "10"}).amount_min is None
    bad = PaymentFilter.from_query(
        {"currency": "XXZ", "status": "nope", "created_from": "2026-02-30"}
    )
    assert (bad.currency, bad.status, bad.created_from) == (None, None, None)


# --- language, formatting, redirects ------------------------------------------------


def test_language_choice_prefers_the_reader_then_the_browser() -> None:
    assert choose_locale(None, None) == "en"
    assert choose_locale(None, "zh-CN,zh;q=0.9,en;q=0.5") == "zh_Hans"
    assert choose_locale(None, "ja,zh-Hans;q=0.8") == "zh_Hans"  # no Japanese console: next best
    assert choose_locale(None, "zh-TW") == "en"  # Traditional is not Simplified
    assert choose_locale("en", "zh-CN") == "en"
    assert choose_locale("zh_Hans", "en") == "zh_Hans"
    assert console_locale("fr") is None


def test_money_is_formatted_from_minor_units_in_the_readers_locale() -> None:
    assert Formatter("en").money(123456, "EUR") == "€1,234.56"
    assert Formatter("en").money(1200, "jpy") == "¥1,200"
    assert Formatter("en").money(1250, "BHD").endswith("1.250")
    assert "1,234.56" in Formatter("zh_Hans").money(123456, "EUR")
    assert Formatter("en").money(None, "EUR") == "—"


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/console/merchant/payments?q=x", "/console/merchant/payments?q=x"),
        ("/console", "/console"),
        ("//evil.example/console", None),
        ("https://evil.example/console", None),
        ("/v1/balance", None),
        ("/console\\..\\x", None),
        (None, None),
    ],
)
def test_only_console_paths_are_redirect_targets(target: str | None, safe: str | None) -> None:
    assert safe_next(target) == safe
