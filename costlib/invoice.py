"""The month against the invoice: does the blended cost of the charges reproduce it to the cent?

Native files carry their own ``InvoiceTotal``; charges plus the ``Rounding`` rows equal it. A
CloudCheckr copy has no totals: its invoice is AWS's monthly invoice report (which does not hold
the reseller's custom charge) or the amount on the reseller's invoice, typed in (which does).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import numpy as np

from . import money
from .errors import OptionError
from .layout import KINDS, printable
from .reading import Bill, factorize_text, read

HALF_CENT = money.UNIT // 200
#: Kinds of file that hold no invoice total (checked against an amount, per invoice id).
REPORT_KINDS = ("cur", "cur2", "focus")
NO_INVOICE_ID = "(none)"  #: the charges of no invoice yet (an open month's rows)
CUSTOM_CHARGE = "Custom Charge"


@dataclass(frozen=True)
class InvoiceCheck:
    """The outcome of checking a month against its invoice (amounts in dollars)."""

    charges: float
    total: float | None
    difference: float | None
    matches: bool | None
    status: str
    source: str
    explanation: list[str] = field(default_factory=list)
    basis: str = "blended"  #: the cost basis the charges are summed in
    #: the charges and the invoice total in exact units (what sums over many files add up)
    charges_units: int = field(default=0, repr=False)
    total_units: int | None = field(default=None, repr=False)
    #: a report's charges per invoice id (a CUR's ``bill/InvoiceId``, FOCUS's ``InvoiceId``)
    invoices: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"charges ({self.basis}): {money.usd(self.charges)}"]
        if self.total is None:
            lines.append(f"invoice: {self.status}")
        else:
            verdict = "matches to the cent" if self.matches else "DOES NOT MATCH"
            lines.append(f"invoice ({self.source}): {money.usd(self.total)}: {verdict}")
            lines.append(f"difference (invoice - charges): "
                         f"{money.usd(self.difference, sign=True)}")
        lines += [f"  {line}" for line in self.explanation]
        lines += [f"  invoice {printable(one)}: {money.usd(amount)}"
                  for one, amount in self.invoices.items()]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """The JSON form: ``total``, ``difference``, ``matches`` and the words around them."""
        return {"total": self.total, "difference": self.difference, "matches": self.matches,
                "status": self.status, "source": self.source, "charges": self.charges,
                "explanation": self.explanation,
                **({"invoices": self.invoices} if self.invoices else {})}


def check_invoice(bill: Bill, invoice: Bill | str | os.PathLike | float | Decimal | None = None
                  ) -> InvoiceCheck:
    """Check ``bill``'s charges against its invoice.

    ``invoice`` is ``None`` (use the file's own total rows), an amount (``1234.56`` or
    ``"$1,234.56"``; ``"ID=1234.56"`` for the charges of one invoice id), or the monthly
    invoice report (a path or a read ``Bill``). A CUR or FOCUS file holds no invoice total: its
    charges are summed per invoice id, to check each against the invoice AWS sent.

    >>> import costlib
    >>> check = check_invoice(costlib.read(costlib.sample_path()))
    >>> check.matches, check.total, check.source
    (True, 2088.09, 'InvoiceTotal row')
    """
    scanned = getattr(bill, "invoice_check", None)
    if scanned is not None:  # many files (costlib.scan): each was checked against its own
        if invoice is not None:
            raise OptionError("an invoice checks one bill; with several files each is checked "
                              "against its own total rows")
        return scanned
    return dataclasses.replace(_check(bill, invoice), basis=bill.cost_basis)


def _check(bill: Bill, invoice) -> InvoiceCheck:
    one, invoice = _one_invoice(invoice)
    invoices = _per_invoice(bill) if one is not None or bill.kind in REPORT_KINDS else {}
    if one is not None:
        bill = _invoice_of(bill, one, invoices)
        invoices = {one: invoices[one]}
    parts = _parts(bill)
    charges = parts.pop("charges")
    if bill.kind in REPORT_KINDS:
        return dataclasses.replace(_check_report(bill, invoice, charges, parts, one, invoices),
                                   invoices=invoices)
    if invoice is None:
        if bill.kind == "cloudcheckr":
            return _no_invoice(charges, "no invoice in the file (a CloudCheckr copy has no total "
                               "rows): give the monthly invoice report or the invoice amount")
        return _against(bill, bill, charges, parts)
    amount = _amount(invoice)
    if amount is not None:
        return _verdict(charges, money.of_decimal(amount), "amount given", parts,
                        expected=charges + parts["rounding rows"])
    report = invoice if isinstance(invoice, Bill) else read(invoice)
    if report.kind != "invoice-report":
        raise OptionError(f"{report.name}: not a monthly invoice report (it is a {report.kind} "
                          "file); give an aws-billing-csv report or an amount")
    # AWS's own invoice never holds the reseller's custom charge.
    return _against(bill, report, charges, parts,
                    leave_out=parts["the reseller's custom charge"])


def _check_report(bill: Bill, invoice, charges: int, parts: dict, one: str | None,
                  invoices: dict[str, float]) -> InvoiceCheck:
    """A CUR or FOCUS file against an amount (it holds no total rows to check against);
    ``invoices``: its charges per invoice id."""
    amount = None if invoice is None else _amount(invoice)
    if invoice is not None and amount is None:
        raise OptionError(f"{bill.name}: a {KINDS[bill.kind]} is checked against the invoice's "
                          "amount (--invoice AMOUNT, or ID=AMOUNT for one invoice), not a file")
    if amount is None:
        ids = sorted(i for i in invoices if i != NO_INVOICE_ID)
        hint = f" (--invoice {ids[0]}=AMOUNT)" if len(ids) > 1 else " (--invoice AMOUNT)"
        return _no_invoice(charges, f"a {KINDS[bill.kind]} holds no invoice total: give the "
                           f"invoice's amount to check it against{hint}")
    source = f"amount given for invoice {one}" if one else "amount given"
    return _verdict(charges, money.of_decimal(amount), source, parts, expected=charges)


def _one_invoice(invoice) -> tuple[str | None, object]:
    """``"ID=AMOUNT"`` as (the invoice id, the amount); anything else as it is."""
    if isinstance(invoice, str) and "=" in invoice:
        one, _, amount = invoice.partition("=")
        if not one.strip():
            raise OptionError(f"--invoice {invoice!r}: name the invoice before '=' "
                              "(ID=AMOUNT)")
        return one.strip(), amount
    return None, invoice


def _invoice_of(bill: Bill, one: str, found: dict[str, float]) -> Bill:
    """The bill with the charge rows of invoice ``one`` only (``found``: its charges per
    invoice id)."""
    if one not in found:
        ids = ", ".join(sorted(i for i in found if i != NO_INVOICE_ID)) or "none"
        raise OptionError(f"{bill.name}: no charges of invoice {one!r} (its invoices: {ids})")
    return bill.only("InvoiceID", one) if len(found) > 1 else bill


def _per_invoice(bill: Bill) -> dict[str, float]:
    """The charges per invoice id, in dollars (blank ids under ``""``)."""
    if "InvoiceID" not in bill.columns:
        return {}
    codes, ids = factorize_text(bill.column("InvoiceID"))
    sums = money.sum_by(codes, bill.cost_units, len(ids))
    return {str(i) or NO_INVOICE_ID: money.dollars(int(v)) for i, v in zip(ids, sums,
                                                                         strict=True)}


def _against(bill: Bill, holder: Bill, charges: int, parts: dict,
             leave_out: int = 0) -> InvoiceCheck:
    """Compare with the total rows of ``holder`` (the bill itself or its invoice report):
    the charges, plus the holder's rounding rows, less what that invoice never holds."""
    parts = {**parts, "rounding rows": _control_sum(holder, "Rounding", "CBRounding") or 0}
    expected = charges + parts["rounding rows"] - leave_out
    if not holder.closed:
        estimate = _control_sum(holder, "InvoiceTotal") or _control_sum(holder, "StatementTotal")
        words = "no invoice yet: the month is open (InvoiceID 'Estimated')"
        if estimate is not None:
            words += f"; AWS's estimate so far is {money.usd(money.dollars(estimate))}"
        return _no_invoice(charges, words)
    total = _control_sum(holder, "InvoiceTotal")
    if total is None:
        total = _control_sum(holder, "StatementTotal")
    if total is None:
        return _no_invoice(charges, f"no invoice total in {os.path.basename(holder.name)} "
                           "(no InvoiceTotal or StatementTotal row)")
    notes = []
    if holder is not bill and (holder.account, holder.month) != (bill.account, bill.month):
        notes.append(f"the invoice report is for {holder.account} {holder.month}, the bill for "
                     f"{bill.account} {bill.month}")
    source = "InvoiceTotal row" if holder is bill else os.path.basename(holder.name)
    return _verdict(charges, total, source, parts, expected, notes)


def _verdict(charges: int, total: int, source: str, parts: dict, expected: int,
             notes: list[str] | None = None) -> InvoiceCheck:
    matches = abs(total - expected) <= HALF_CENT
    explanation = list(notes or [])
    residual = total - charges
    rounding = parts["rounding rows"]
    if rounding and residual == rounding:
        explanation.append(f"charges + rounding rows ({money.dollars(rounding):+.8f}) "
                           "= invoice total, exactly")
    elif abs(residual) <= HALF_CENT:
        explanation.append("the charges alone reproduce the invoice to the cent")
    else:
        found = _explain(residual, parts)
        if found is None:
            explanation.append(f"{money.usd(money.dollars(residual), sign=True)} is unexplained "
                               "by rounding rows, custom charge, tax or credits")
        else:
            explanation += [f"{name}: {money.usd(money.dollars(value), sign=True)} "
                            f"{'in' if sign > 0 else 'not in'} the invoice"
                            for name, value, sign in found]
    return InvoiceCheck(charges=money.dollars(charges), total=money.dollars(total),
                        difference=money.dollars(total - charges), matches=matches,
                        status="matches" if matches else "mismatch", source=source,
                        explanation=explanation, charges_units=charges, total_units=total)


def _explain(residual: int, parts: dict) -> list[tuple[str, int, int]] | None:
    """The smallest set of known parts that accounts for ``invoice - charges`` to the cent.

    Rounding rows are added to the charges; custom charge, tax and credits are parts of the
    charges that an invoice may leave out.
    """
    candidates = [(name, value, 1 if name == "rounding rows" else -1)
                  for name, value in parts.items() if value]
    for size in range(1, len(candidates) + 1):
        for chosen in itertools.combinations(candidates, size):
            if abs(residual - sum(sign * value for _, value, sign in chosen)) <= HALF_CENT:
                return list(chosen)
    return None


def _no_invoice(charges: int, words: str) -> InvoiceCheck:
    status = "no invoice yet" if words.startswith("no invoice yet") else "no invoice"
    return InvoiceCheck(charges=money.dollars(charges), total=None, difference=None,
                        matches=None, status=status, source="none", explanation=[words],
                        charges_units=charges)


def _parts(bill: Bill) -> dict[str, int]:
    """Charges and the parts of them (or beside them) that explain differences, in units."""
    cost = bill.cost_units
    custom = (bill.column("ProductName") == CUSTOM_CHARGE if "ProductName" in bill.columns
              else np.zeros(len(cost), bool))
    tax = bill.column("RecordType") == "Tax"
    rounding = _control_sum(bill, "Rounding", "CBRounding") or 0
    return {"charges": money.total(cost), "rounding rows": rounding,
            "the reseller's custom charge": money.total(cost[custom]),
            "tax": money.total(cost[tax]), "credits": money.total(cost[(cost < 0) & ~custom])}


def _control_sum(bill: Bill, *record_types: str) -> int | None:
    rows = np.isin(bill.control_column("RecordType"), record_types)
    if not rows.any():
        return None
    return money.total(bill.control_cost_units[rows])


def _amount(invoice) -> Decimal | None:
    """An amount typed in (``1234.56``, ``"$1,234.56"``), or ``None`` for a file."""
    if isinstance(invoice, Bill):
        return None
    if isinstance(invoice, (int, float, Decimal)):
        amount = Decimal(str(invoice))
        if not amount.is_finite():
            raise OptionError(f"the invoice amount {invoice!r} is not a number")
        return amount
    text = os.fspath(invoice)
    cleaned = re.sub(r"[\s$,]", "", text)
    if re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", cleaned):
        try:
            amount = Decimal(cleaned)
        except InvalidOperation:
            return None
        if abs(amount) >= 10**15:
            raise OptionError(f"the invoice amount {text!r} is beyond any bill "
                              "(at most $1e15)")
        return amount
    return None
