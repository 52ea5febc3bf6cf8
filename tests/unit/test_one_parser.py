"""One amount parser and one id validator for scenario files and the library (issue 13 item 4,
issue 14 item 3): the same input gets the same verdict, and the same reason, from both."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from toml_writer import to_toml

from escrow import AmountError, ContractTerms, IdentifierError
from escrow.identifiers import MAX_ID_LENGTH, check_id, check_line
from escrow.money import MAX_AMOUNT, amount_of
from escrow.scenario import ScenarioError, parse_scenario

D = Decimal


# --- amounts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (D("1E+2"), "100.00"),  # an exponent: 1 × 10² yuan
        (D("100.0000"), "100.00"),  # trailing zeros: still whole fen
        (D("0.5"), "0.50"),
        (D("-0"), "0.00"),  # a negative zero is zero, never "-0.00"
        (5000, "5000.00"),  # an int is whole yuan
        (0, "0.00"),
        ("1234.5", "1234.50"),
        (MAX_AMOUNT, "999999999999.99"),
        (999_999_999_999, "999999999999.00"),
    ],
)
def test_the_library_takes_decimals_ints_and_strings_normalised_to_two_places(
    value: object, stored: str
) -> None:
    amount = amount_of(value)
    assert str(amount) == stored  # the exponent is exactly -2: what is written is "100.00"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (1000.005, "is a float"),  # not converted: 1000.005 has no exact binary value
        (0.1 + 0.2, "is a float"),  # 0.30000000000000004
        (100.0, "is a float"),  # even a float that looks whole
        (True, "got bool"),  # a bool is an int in Python, never an amount
        (None, "got NoneType"),
        (b"1.00", "got bytes"),
        (D("1000.005"), "has more than two decimals"),
        (D("1E-1000"), "has more than two decimals"),
        (D("NaN"), "is not a finite"),
        (D("-Infinity"), "is not a finite"),
        (D("-0.01"), "is negative"),
        (-1, "is negative"),
        (D("1000000000000"), "is too large"),  # 10^12 > 999,999,999,999.99
        (10**12, "is too large"),
        (D("1E+100000"), "is too large"),  # refused before any rounding could overflow
        ("1E+2", "no exponents"),  # a string is read as a file reads it
        ("100.0000", "more than two decimals"),
    ],
)
def test_the_library_refuses_floats_and_anything_not_whole_fen(value: object, problem: str) -> None:
    with pytest.raises(AmountError) as caught:
        amount_of(value, "deposit")
    message = str(caught.value)
    assert message.startswith("deposit: ")
    assert problem in message
    assert "\n" not in message and len(message) < 200


def scenario_with(**contract: Any) -> str:
    base: dict[str, Any] = {
        "id": "C1",
        "tenant": "T1",
        "enterprise": "E1",
        "start": dt.date(2025, 6, 1),
        "end": dt.date(2026, 5, 31),
        "monthly_rent": "5000.00",
        "deposit": "5000.00",
    }
    text = to_toml({"name": "one", "contracts": [{**base, **contract}]})
    return text.replace("\x7f", "\\u007f")  # TOML wants DEL escaped; the file still holds one


def terms_with(**changes: Any) -> ContractTerms:
    base: dict[str, Any] = {
        "id": "C1",
        "filing_no": "C1",
        "tenant": "T1",
        "enterprise": "E1",
        "start": dt.date(2025, 6, 1),
        "end": dt.date(2026, 5, 31),
        "monthly_rent": "5000.00",
        "deposit": "5000.00",
    }
    return ContractTerms(**{**base, **changes})


@pytest.mark.parametrize(
    "text", ["12.345", "-1", "1e3", "NaN", "1,000", " 5", "１２", "1.", "1000000000000", "abc"]
)
def test_a_file_and_the_library_refuse_the_same_amount_text_for_the_same_reason(
    text: str,
) -> None:
    with pytest.raises(ScenarioError) as in_file:
        parse_scenario(scenario_with(deposit=text), "demo.toml")
    with pytest.raises(AmountError) as in_library:
        terms_with(deposit=text)
    file_reason = str(in_file.value).removeprefix("demo.toml: contracts[0].deposit: ")
    library_reason = str(in_library.value).removeprefix("contract C1: deposit: ")
    assert file_reason == library_reason


@pytest.mark.parametrize(
    ("text", "stored"), [("5000", "5000.00"), ("0.5", "0.50"), ("007", "7.00")]
)
def test_a_file_and_the_library_read_the_same_amount_text_alike(text: str, stored: str) -> None:
    in_file = parse_scenario(scenario_with(deposit=text), "demo.toml").contracts[0].deposit
    assert str(in_file) == str(terms_with(deposit=text).deposit) == stored


# --- ids -------------------------------------------------------------------------------------

BAD_IDS = [
    "",
    " C1",
    "C1 ",
    "C1\n",
    "C\x00",  # NUL
    "C\x1b[31m1",  # ESC: a colour sequence
    "C\x1b]0;owned\x07",  # OSC: sets the terminal title
    "C\x7f",  # DEL
    "C\x9b2J",  # C1 control CSI: clears the screen on some terminals
    "\u202eC1",  # bidi override
    "C\u200b1",  # zero-width space
    "C" * (MAX_ID_LENGTH + 1),
]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_a_file_and_the_library_refuse_the_same_ids_for_the_same_reason(bad: str) -> None:
    with pytest.raises(ScenarioError) as in_file:
        parse_scenario(scenario_with(tenant=bad), "demo.toml")
    with pytest.raises(IdentifierError) as in_library:
        terms_with(tenant=bad)
    file_reason = str(in_file.value).removeprefix("demo.toml: contracts[0].tenant: ")
    library_reason = str(in_library.value).removeprefix("contract C1: tenant: ")
    assert file_reason == library_reason
    assert str(in_library.value).isprintable()  # the message itself carries no control


@pytest.mark.parametrize("good", ["C1", "合同-一", "C[/x]", "[/red]E", "JZ-2025-000001", "C" * 100])
def test_ids_with_markup_or_chinese_pass_both(good: str) -> None:
    # Rich markup is data: escaped where it is rendered, never refused (issue 14 item 3).
    assert parse_scenario(scenario_with(tenant=good), "demo.toml").contracts[0].tenant == good
    assert terms_with(tenant=good).tenant == good
    assert check_id(good, "tenant") == good


def test_a_line_is_one_line_of_bounded_printable_text() -> None:
    assert check_line("cleaning 清洁", "item") == "cleaning 清洁"
    for bad, problem in [
        ("  ", "must not be empty"),
        ("a\nb", "one line"),
        ("a\x1b[2J", "one line"),
        ("x" * 1001, "longer than 1000"),
    ]:
        with pytest.raises(IdentifierError, match=problem):
            check_line(bad, "item")


def test_a_scenario_bank_is_an_id_and_a_name_is_a_bounded_line() -> None:
    # A bank is an id (issue 13): " ICBC" with a leading space used to pass as a line.
    text = to_toml(
        {
            "name": "bank",
            "contracts": [
                {
                    "id": "C1",
                    "tenant": "T1",
                    "enterprise": "E1",
                    "start": dt.date(2025, 6, 1),
                    "end": dt.date(2026, 5, 31),
                    "monthly_rent": "5000.00",
                    "deposit": "0",
                }
            ],
            "actions": [
                {
                    "date": dt.date(2025, 6, 2),
                    "action": "change_account",
                    "account": "custody",
                    "bank": " ICBC",
                }
            ],
        }
    )
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "demo.toml")
    assert str(caught.value) == "demo.toml: actions[0].bank: ' ICBC' has spaces at either end"
    long_name = scenario_with().replace('name = "one"', f'name = "{"n" * 1001}"')
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(long_name, "demo.toml")
    assert str(caught.value) == "demo.toml: name: is longer than 1000 characters"
