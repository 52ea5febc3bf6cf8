"""escrow.money: strict parsing of plain decimal yuan, half-up rounding to the fen (rule 17)."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escrow.errors import AmountError
from escrow.money import FEN, MAX_AMOUNT, ZERO, fmt, from_fen, parse_amount, round_fen, to_fen


def test_constants_are_exact_two_place_decimals() -> None:
    assert str(ZERO) == "0.00"
    assert str(FEN) == "0.01"
    assert str(MAX_AMOUNT) == "999999999999.99"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.50", "1234.50"),
        ("5000", "5000.00"),  # no decimals: whole yuan
        ("0.5", "0.50"),  # one decimal: 5 jiao
        ("0.05", "0.05"),
        ("0", "0.00"),
        ("0.00", "0.00"),
        ("007", "7.00"),  # leading zeros are still plain decimal yuan
        ("999999999999.99", "999999999999.99"),  # exactly MAX_AMOUNT
    ],
)
def test_plain_decimal_yuan_parses_to_two_places(text: str, expected: str) -> None:
    value = parse_amount(text)
    assert value == Decimal(expected)
    assert str(value) == expected  # exponent is exactly -2


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1e400", "is not a plain decimal amount (no exponents)"),
        ("1E3", "is not a plain decimal amount (no exponents)"),
        ("1.2e3", "is not a plain decimal amount (no exponents)"),
        ("12.345", "has more than two decimals"),
        ("0.001", "has more than two decimals"),
        ("-1", "is negative"),
        ("-5.00", "is negative"),
        ("-0", "is negative"),
        ("abc", "is not a number"),
        ("-abc", "is not a number"),
        ("12.3.4", "is not a number"),
        ("0x10", "is not a number"),
        ("", "is empty"),
        (" 1", "contains spaces"),
        ("1 ", "contains spaces"),
        ("1 000", "contains spaces"),
        ("1\t0", "contains spaces"),
        ("1,000", "has thousands separators"),
        ("1,000.00", "has thousands separators"),
        ("1_000", "has thousands separators"),  # Decimal() itself would accept this one
        ("NaN", "is not a finite number"),
        ("sNaN", "is not a finite number"),
        ("Infinity", "is not a finite number"),
        ("-Inf", "is not a finite number"),
        ("+5", "has a '+' sign"),
        ("０１", "has non-ASCII characters"),  # full-width digits
        ("١٢", "has non-ASCII characters"),  # Arabic-Indic digits, which Decimal() accepts
        ("1.", "is not a plain decimal amount (write digits on both sides of '.'"),
        (".5", "is not a plain decimal amount (write digits on both sides of '.'"),
        ("1000000000000", "is too large (maximum 999999999999.99)"),  # 10^12 > MAX_AMOUNT
        ("1000000000000.00", "is too large"),
    ],
)
def test_anything_but_plain_decimal_yuan_is_refused_with_a_reason(text: str, problem: str) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(text)
    message = str(caught.value)
    assert message.startswith(f"amount: {text!r} ")
    assert problem in message
    assert "\n" not in message


@pytest.mark.parametrize("value", [1.5, 5, None, True, Decimal("1.50"), b"1.50"])
def test_non_strings_are_refused_even_if_they_look_like_money(value: object) -> None:
    with pytest.raises(AmountError, match=r'^amount: must be a string like "1234\.50", got '):
        parse_amount(value)


def test_the_message_names_where_the_amount_came_from() -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount("12.345", where="actions[3].amount")
    assert str(caught.value) == "actions[3].amount: '12.345' has more than two decimals"


@pytest.mark.parametrize("text", ["0", "0.00", "0.0"])
def test_zero_is_refused_when_not_allowed(text: str) -> None:
    with pytest.raises(AmountError, match="must be more than zero"):
        parse_amount(text, allow_zero=False)


def test_a_fen_is_accepted_when_zero_is_not_allowed() -> None:
    assert parse_amount("0.01", allow_zero=False) == Decimal("0.01")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.225", "1.23"),  # exactly half a fen above 1.22 -> up
        ("1.224999", "1.22"),  # 0.004999 fen-fraction < 0.005 -> down
        ("5.8941", "5.89"),  # 0.0041 < 0.005 -> down
        ("0.405", "0.41"),  # a tie -> up
        ("2.675", "2.68"),  # a tie -> up; float(2.675) is 2.67499999... and round() gives 2.67
        ("5.894583333", "5.89"),
        ("0.005", "0.01"),
        ("0.004", "0.00"),
        ("7", "7.00"),
        ("-1.225", "-1.23"),  # half away from zero, as ROUND_HALF_UP defines it
    ],
)
def test_round_fen_rounds_half_up_to_the_fen(value: str, expected: str) -> None:
    result = round_fen(Decimal(value))
    assert result == Decimal(expected)
    assert str(result) == expected


def test_float_rounding_would_get_2_675_wrong_but_round_fen_does_not() -> None:
    assert round(2.675, 2) == 2.67  # the binary float is slightly below 2.675
    assert round_fen(Decimal("2.675")) == Decimal("2.68")


def test_round_fen_ignores_the_global_decimal_context() -> None:
    with localcontext() as ctx:
        ctx.prec = 3  # would turn 123456.785 into 1.23E+5
        ctx.rounding = ROUND_DOWN
        assert round_fen(Decimal("123456.785")) == Decimal("123456.79")


def test_round_fen_refuses_floats() -> None:
    with pytest.raises(TypeError):
        round_fen(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234.5", "1234.50"),
        ("5000", "5000.00"),
        ("0", "0.00"),
        ("-0.00", "0.00"),  # never "-0.00"
        ("-3", "-3.00"),
        ("999999999999.99", "999999999999.99"),
    ],
)
def test_fmt_writes_exactly_two_decimals(value: str, expected: str) -> None:
    assert fmt(Decimal(value)) == expected


def test_fmt_refuses_sub_fen_values_instead_of_rounding_them() -> None:
    with pytest.raises(ValueError, match="round_fen"):
        fmt(Decimal("1.005"))


@pytest.mark.parametrize(
    ("value", "fen"),
    [("12.34", 1234), ("0.01", 1), ("0.00", 0), ("5000", 500000), ("-0.05", -5)],
)
def test_fen_conversions_are_exact(value: str, fen: int) -> None:
    # 12.34 yuan = 1234 fen, 5000 yuan = 5000 x 100 = 500000 fen.
    assert to_fen(Decimal(value)) == fen
    assert from_fen(fen) == Decimal(value)
    assert str(from_fen(fen)) == str(round_fen(Decimal(value)))


def test_to_fen_refuses_sub_fen_values() -> None:
    with pytest.raises(ValueError):
        to_fen(Decimal("0.001"))


fen_amounts = st.integers(min_value=0, max_value=to_fen(MAX_AMOUNT)).map(from_fen)


@given(fen_amounts)
def test_parsing_what_fmt_writes_gives_back_the_same_amount(value: Decimal) -> None:
    assert parse_amount(fmt(value)) == value
    assert to_fen(from_fen(to_fen(value))) == to_fen(value)
