"""The month against the invoice, on small hand-made bills (the samples have their own tests)."""

from __future__ import annotations

import pytest

import costlib
from conftest import run_cli, tiny_bill

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


# --- a report's invoices (CUR, FOCUS): no total rows, one sum per invoice id ------------------

def two_invoice_cur(folder) -> str:
    """A CUR month of two invoices (AWS's and a Marketplace seller's) and an open one's rows."""
    header = ("identity/LineItemId,bill/InvoiceId,bill/PayerAccountId,lineItem/UsageAccountId,"
              "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UsageEndDate,"
              "lineItem/UnblendedCost,resourceTags/user:Owner")
    hour = "2026-11-03T05:00:00Z,2026-11-03T06:00:00Z"
    rows = [f"a1,111111,012345678901,012345678902,Usage,{hour},10.25,alice",
            f"a2,111111,012345678901,012345678902,Tax,{hour},1.03,",
            f"m1,222222,012345678901,012345678902,Usage,{hour},99.99,bob",
            f"o1,,012345678901,012345678902,Usage,{hour},0.01,bob"]
    path = folder / "two-invoices.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return str(path)


def test_a_reports_charges_are_summed_per_invoice_id(tmp_path):
    check = costlib.check_invoice(costlib.read(two_invoice_cur(tmp_path)))
    assert check.matches is None and check.status == "no invoice"
    assert check.invoices == {"111111": 11.28, "222222": 99.99, "(none)": 0.01}
    assert "--invoice 111111=AMOUNT" in check.explanation[0]
    assert "invoice 222222: $99.99" in str(check)


@pytest.mark.parametrize("given, matches, charges", [
    ("111111=11.28", True, 11.28), ("222222=$99.99", True, 99.99), ("222222=100", False, 99.99),
    ("111.28", True, 111.28)])  # an amount alone: every charge of the file
def test_one_invoice_of_a_report_is_checked_by_its_id(tmp_path, given, matches, charges):
    check = costlib.check_invoice(costlib.read(two_invoice_cur(tmp_path)), given)
    assert check.matches is matches and check.charges == pytest.approx(charges, abs=1e-12)


@pytest.mark.parametrize("given, words", [
    ("333333=5", "no charges of invoice '333333' (its invoices: 111111, 222222)"),
    ("=5", "name the invoice before '=' (ID=AMOUNT)")])
def test_an_invoice_id_the_file_lacks_is_one_line(tmp_path, given, words):
    done = run_cli("report", two_invoice_cur(tmp_path), "--invoice", given)
    assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr


def test_a_report_is_not_checked_against_a_file(tmp_path):
    with pytest.raises(costlib.OptionError, match="checked against the invoice's amount"):
        costlib.check_invoice(costlib.read(two_invoice_cur(tmp_path)), costlib.sample_path())
