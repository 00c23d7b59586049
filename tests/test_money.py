"""Dollars <-> cents: exact, and every refusal names the field."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulumi_openai_billing._api.money import MoneyError, cost_to_decimal, format_usd, from_cents, parse_usd, to_cents


@pytest.mark.parametrize("value", [1500, 1500.0, "1500", "1500.00", " 1500.0 ", Decimal("1500.000")])
def test_equal_spellings_are_one_canonical_amount(value: object) -> None:
    assert format_usd(parse_usd(value, "monthly_limit_usd")) == "1500.00"


@pytest.mark.parametrize(("value", "cents"), [(0.1, 10), ("0.29", 29), (19.99, 1999), ("100000000", 10_000_000_000)])
def test_conversion_is_exact(value: object, cents: int) -> None:
    assert to_cents(parse_usd(value, "x")) == cents


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1.005", "more than two decimals"),
        (0.125, "more than two decimals"),
        (-1, "must not be negative"),
        ("-0.01", "must not be negative"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        ("Infinity", "finite"),
        (True, "not bool"),
        (None, "not NoneType"),
        ([1], "not list"),
        ("ten dollars", "dollar amount"),
        ("", "dollar amount"),
        ("100000000.01", "at most 100000000.00"),
        (1e26, "at most 100000000.00"),
        ("1e1000", "at most 100000000.00"),
        ("-1e30", "must not be negative"),
    ],
)
def test_bad_amounts_are_refused_naming_the_field(value: object, message: str) -> None:
    with pytest.raises(MoneyError, match=message) as info:
        parse_usd(value, "threshold_usd")
    assert "threshold_usd" in str(info.value)


def test_minimum() -> None:
    with pytest.raises(MoneyError, match=r"at least 0\.01"):
        parse_usd(0, "monthly_limit_usd", minimum=Decimal("0.01"))
    assert parse_usd(0, "threshold_usd") == Decimal("0.00")


@given(st.integers(min_value=0, max_value=10_000_000_000))
def test_cents_round_trip(cents: int) -> None:
    amount = from_cents(cents)
    assert to_cents(parse_usd(format_usd(amount), "x")) == cents
    assert to_cents(parse_usd(str(amount), "x")) == cents


@given(st.decimals(min_value=0, max_value=100_000_000, places=2, allow_nan=False))
def test_two_decimal_amounts_always_accepted(amount: Decimal) -> None:
    assert parse_usd(amount, "x") == amount


def test_costs_keep_fractions() -> None:
    assert cost_to_decimal(0.06) == Decimal("0.06")
    assert cost_to_decimal(1e-7) == Decimal("1E-7")
    with pytest.raises(MoneyError):
        cost_to_decimal(float("nan"))
