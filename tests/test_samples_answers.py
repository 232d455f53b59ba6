"""The sample months answer the contest's questions, checked against their own total rows."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

import costlib
from conftest import run_cli, sample


def test_february_matches_its_invoice_to_the_cent(samples):
    bill = costlib.read(sample(samples, "tags-2026-02"))
    check = costlib.check_invoice(bill)
    assert check.matches is True and check.source == "InvoiceTotal row"
    invoice = bill.controls.loc[bill.controls.RecordType == "InvoiceTotal", "BlendedCost"].item()
    assert check.total == invoice
    rounding = bill.controls.loc[bill.controls.RecordType == "Rounding", "BlendedCost"].item()
    assert check.difference == pytest.approx(rounding, abs=1e-9)


def test_account_totals_are_each_accounts_charges(samples):
    bill = costlib.read(sample(samples, "tags-2026-02"))
    totals = bill.controls[bill.controls.RecordType == "AccountTotal"]
    for _, row in totals.iterrows():
        mine = bill.items[bill.items.LinkedAccountId == row.LinkedAccountId]
        exact = sum(Decimal(f"{c:.10f}") for c in mine.BlendedCost)
        assert abs(exact - Decimal(f"{row.BlendedCost:.10f}")) < Decimal("1e-9")


def test_summing_every_row_counts_the_bill_twice(samples):
    bill = costlib.read(sample(samples, "tags-2026-02"))
    everything = bill.items.BlendedCost.sum() + bill.controls.BlendedCost.sum()
    assert everything > 1.9 * costlib.blended_total(bill)


def test_cloudcheckr_copy_against_aws_invoice_report_names_the_custom_charge(samples):
    copy = costlib.read(sample(samples, "tags-2026-03"))
    report = sample(samples, "billing-csv-2026-03")
    check = costlib.check_invoice(copy, report)
    custom = copy.items.loc[copy.items.ProductName == "Custom Charge", "BlendedCost"].sum()
    assert check.matches is True
    assert check.difference == pytest.approx(-custom, abs=0.005)
    assert any("custom charge" in line for line in check.explanation)
    others = costlib.blended_total(copy) - custom
    assert custom == pytest.approx(others / 10, abs=1e-7)


def test_cloudcheckr_copy_against_the_resellers_amount(samples):
    copy = costlib.read(sample(samples, "tags-2026-03"))
    charges = costlib.blended_total(copy)
    resellers_invoice = f"{Decimal(str(charges)).quantize(Decimal('0.01'))}"
    assert costlib.check_invoice(copy, resellers_invoice).matches is True
    assert costlib.check_invoice(copy).status == "no invoice"
    off = costlib.check_invoice(copy, f"{charges + 1:.2f}")
    assert off.matches is False and off.status == "mismatch"


def test_open_month_says_no_invoice_yet(samples):
    bill = costlib.read(sample(samples, "tags-2026-11"))
    assert bill.invoice_id == "Estimated" and not bill.closed
    check = costlib.check_invoice(bill)
    assert check.status == "no invoice yet" and check.matches is None


def test_single_account_file_uses_cost(samples):
    bill = costlib.read(sample(samples, "line-items-2026-01"))
    assert bill.cost_column == "Cost"
    assert costlib.blended_total(bill) == pytest.approx(bill.items.Cost.sum(), abs=1e-9)


@pytest.mark.parametrize("part", ["tags-2026-02", "tags-2026-03", "tags-2026-11"])
def test_users_add_up_and_every_user_is_reported(samples, part):
    bill = costlib.read(sample(samples, part))
    s = costlib.spend(bill, tz="America/Los_Angeles")
    assert s.users_add_up
    owners = set(bill.items["user:Owner"]) - {""}
    assert owners <= set(s.users)
    assert costlib.UNTAGGED in s.users


def test_report_json_has_the_promised_shape(samples):
    path = sample(samples, "tags-2026-02")
    result = run_cli("report", str(path), "--json", "--tz", "America/Los_Angeles")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    bill = costlib.read(path)
    s = costlib.spend(bill, tz="America/Los_Angeles")
    assert data["blended_total"] == s.total
    assert data["invoice"]["matches"] is True
    assert data["invoice"]["total"] == costlib.check_invoice(bill).total
    assert data["users"] == s.per_user.to_dict()
    assert sum(data["users"].values()) == pytest.approx(data["blended_total"], abs=1e-6)
    days = [d for d in data["daily"] if d != "undated"]
    assert days[0] == "2026-01-31" and days[-1] == "2026-02-28"
    day_sum = sum(sum(v.values()) for v in data["daily"].values())
    assert day_sum == pytest.approx(data["blended_total"], abs=1e-6)
    assert all(set(v) == set(data["users"]) for v in data["daily"].values())


def test_report_window_and_plot(samples, tmp_path):
    path = sample(samples, "tags-2026-03")
    png = tmp_path / "plot.png"
    result = run_cli("report", str(path), "--json", "--tz", "America/Los_Angeles",
                     "--start", "2026-03-07", "--end", "2026-03-10", "--plot", str(png))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data["daily"]) == ["2026-03-07", "2026-03-08", "2026-03-09"]
    expected = costlib.spend(costlib.read(path), start="2026-03-07", end="2026-03-10",
                             tz="America/Los_Angeles")
    assert data["blended_total"] == expected.total
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plain_report_runs_on_the_bundled_sample():
    result = run_cli("report")
    assert result.returncode == 0, result.stderr
    assert "matches to the cent" in result.stdout
    assert "users add up to the total: yes" in result.stdout


def test_sample_command_writes_the_samples(tmp_path):
    result = run_cli("sample", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(written) >= 6
    assert all(line.endswith(tuple(written)) for line in result.stdout.split())


def test_an_amount_without_tax_is_explained_by_the_tax_rows(samples):
    copy = costlib.read(sample(samples, "tags-2026-03"))
    tax = copy.items.loc[copy.items.RecordType == "Tax", "BlendedCost"].sum()
    assert tax > 0
    without_tax = f"{costlib.blended_total(copy) - tax:.2f}"
    check = costlib.check_invoice(copy, without_tax)
    assert check.matches is False
    assert check.difference == pytest.approx(-tax, abs=0.005)
    assert any(line.startswith("tax:") for line in check.explanation)


def test_a_credit_left_out_of_an_amount_is_named(samples):
    bill = costlib.read(sample(samples, "tags-2026-02"))
    credit = bill.items.loc[bill.items.BlendedCost < 0, "BlendedCost"].sum()
    assert credit < 0
    check = costlib.check_invoice(bill, f"{costlib.check_invoice(bill).total - credit:.2f}")
    assert check.matches is False
    assert any(line.startswith("credits:") for line in check.explanation)
