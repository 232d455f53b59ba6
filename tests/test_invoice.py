"""The month against the invoice, on small hand-made bills (the samples have their own tests)."""

from __future__ import annotations

import pytest

import costlib
from conftest import tiny_bill

ROW = ("2026-03-01 00:00:00", "2026-03-01 01:00:00")


def closed(costs, controls):
    return tiny_bill([(*ROW, c, "a") for c in costs], controls=controls, invoice="86753091")


def test_charges_plus_rounding_rows_equal_the_invoice_total():
    bill = closed(["0.33333333", "0.33333333"],
                  [("AccountTotal", "0.66666666"), ("Rounding", "0.00333334"),
                   ("InvoiceTotal", "0.67000000"), ("StatementTotal", "0.67000000")])
    check = costlib.check_invoice(bill)
    assert check.matches is True and check.status == "matches"
    assert check.total == 0.67 and check.charges == 0.66666666
    assert check.difference == pytest.approx(0.00333334, abs=1e-12)
    assert "rounding rows" in check.explanation[-1]


def test_total_rows_are_not_charges():
    bill = closed(["1.00000000"], [("AccountTotal", "1.00000000"), ("InvoiceTotal", "1.00000000"),
                                   ("StatementTotal", "1.00000000")])
    assert costlib.blended_total(bill) == 1.0
    assert len(bill.items) == 1 and len(bill.controls) == 3


def test_a_missing_row_is_a_mismatch_to_the_cent():
    bill = closed(["1.00000000", "2.00000000"], [("InvoiceTotal", "3.01000000")])
    check = costlib.check_invoice(bill)
    assert check.matches is False and check.status == "mismatch"
    assert check.difference == pytest.approx(0.01)
    assert "unexplained" in check.explanation[0]


def test_an_open_month_has_no_invoice_yet_not_a_mismatch():
    bill = tiny_bill([(*ROW, "1.00000000", "a")], controls=[("InvoiceTotal", "9.00000000")],
                     invoice="Estimated")
    check = costlib.check_invoice(bill)
    assert (check.total, check.difference, check.matches) == (None, None, None)
    assert check.status == "no invoice yet"
    assert "$9.00" in check.explanation[0]


def test_a_typed_amount_is_checked_to_the_cent():
    bill = tiny_bill([(*ROW, "10.00000000", "a")]
                     + [(*ROW, "0.80000000", "a")], kind="LineItem")
    assert costlib.check_invoice(bill, "$10.80").matches is True
    assert costlib.check_invoice(bill, 10.8).matches is True
    check = costlib.check_invoice(bill, "10.00")
    assert check.matches is False
    assert check.difference == pytest.approx(-0.8)


def test_a_closed_file_without_total_rows_says_so():
    bill = closed(["1.00000000"], [])
    check = costlib.check_invoice(bill)
    assert check.status == "no invoice" and check.matches is None
    assert "no InvoiceTotal" in check.explanation[0]
