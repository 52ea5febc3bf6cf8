"""The canonical text an idempotency key is stored with (:func:`escrow.delivery.act_request`).

Ledgers keep these texts: a later escrow must write them byte for byte as an earlier one did,
or a key delivered again would be refused as reused. The expected texts are written out by hand:
keys sorted, no spaces, amounts with two places, dates ISO, non-ASCII kept as it is.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from escrow import acts
from escrow.domain.terms import ContractTerms

DAY = dt.date(2025, 3, 1)


def test_a_payment_s_request_sorts_its_arguments_and_writes_amounts_with_two_places() -> None:
    act = acts.PayRent(contract="C1", amount=Decimal("1E+2"), on=DAY)
    assert act.request() == (
        '{"act":"pay_rent","amount":"100.00","channel":"bank","contract":"C1","on":"2025-03-01"}'
    )
    spelled_otherwise = acts.PayRent(contract="C1", amount=Decimal("100.00"), on=DAY)
    assert spelled_otherwise.request() == act.request()


def test_an_opening_s_request_nests_the_terms_and_keeps_non_ascii_text() -> None:
    terms = ContractTerms(
        id="C1",
        filing_no="京-1",
        tenant="T1",
        enterprise="E1",
        start=DAY,
        end=dt.date(2026, 2, 28),
        monthly_rent=Decimal("3000"),
        deposit=Decimal("0"),
    )
    assert acts.OpenContract(terms=terms, on=DAY).request() == (
        '{"act":"open_contract","on":"2025-03-01","terms":{"affordable":false,'
        '"deposit":"0.00","end":"2026-02-28","enterprise":"E1","filing_no":"京-1","id":"C1",'
        '"monthly_rent":"3000.00","start":"2025-03-01","tenant":"T1"}}'
    )


def test_a_resolution_s_request_writes_none_and_nested_deductions() -> None:
    propose = acts.ProposeRefund(
        contract="C1", fund="deposit", deductions=(("cleaning", Decimal("12.5")),), on=None
    )
    assert propose.request() == (
        '{"act":"propose_refund","contract":"C1","deductions":[["cleaning","12.50"]],'
        '"fund":"deposit","on":null}'
    )
