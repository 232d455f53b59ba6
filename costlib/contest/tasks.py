"""The contest's one table of tasks: answer names, shapes and points (standard library only).

The contest README, :func:`costlib.contest.submit`, the grader and the reference solutions all
read it; it is visible to every graded notebook, and holds no answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

#: The bonus plot covers this many UTC days, ending with the last day that has data.
PLOT_DAYS = 28
#: The default bonus window, as day-of-month and time: from the 8th 06:00 to the 15th 18:00.
DEFAULT_WINDOW = ("08 06:00", "15 18:00")
#: Money is right when it is within half a cent of costlib's exact sum.
HALF_CENT = Decimal("0.005")


@dataclass(frozen=True)
class Answer:
    """One value a contestant hands in: its name, its shape and what it means."""

    name: str
    shape: str
    meaning: str


@dataclass(frozen=True)
class Task:
    """One task of the contest and the answers that score it."""

    key: str
    number: str
    title: str
    points: int
    bonus: bool
    answers: tuple[Answer, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.answers)


#: Shapes, and how each is written in JSON.
SHAPES = {
    "text": "a string",
    "count": "a whole number",
    "names": "a list of strings",
    "money": "dollars, a number (compared to the cent)",
    "money or none": "dollars, or None when there is no invoice",
    "yes/no": "True or False",
    "yes/no or none": "True, False, or None when there is no invoice",
    "money per user": '{user: dollars}, untagged spend under "(untagged)"',
    "money per day": '{"YYYY-MM-DD": dollars}',
    "money per day and user": '{"YYYY-MM-DD": {user: dollars}}',
}

TASKS: tuple[Task, ...] = (
    Task("open", "1", "Open the file", 1, False, (
        Answer("account", "text", "the 12-digit payer account, as a string (leading zeros kept)"),
        Answer("month", "text", 'the month the bill is for, "YYYY-MM"'),
        Answer("rows", "count", "data records in the CSV after the header, total rows included"),
        Answer("tag_columns", "names", 'the tag columns ("user:..." and "aws:..."), in file order'),
    )),
    Task("invoice", "2", "The month's blended cost against the invoice", 2, False, (
        Answer("blended_total", "money", "BlendedCost (Cost in a single-account file) summed over "
               "the charge rows: total and rounding rows left out"),
        Answer("invoice_total", "money or none", "the invoice's total (the InvoiceTotal row, or "
               "COSTLIB_INVOICE); None while the month is open or when there is no invoice"),
        Answer("invoice_matches", "yes/no or none", "charges (+ rounding rows, - what that "
               "invoice leaves out) equal the invoice to the cent; None without an invoice"),
    )),
    Task("users", "3", "Spend per user, and do the users add up?", 2, False, (
        Answer("users", "money per user", "blended cost per user:Owner value over the whole "
               'file, rows without dates included; no user:Owner value: "(untagged)"'),
        Answer("users_equal_total", "yes/no", "the users' spend adds up exactly to "
               "blended_total"),
    )),
    Task("daily", "bonus A", "28 days per user (the plot)", 1, True, (
        Answer("daily", "money per day and user", "spend per UTC day (of UsageStartDate) and "
               f"user over the {PLOT_DAYS} days ending with the last day that has data"),
    )),
    Task("window", "bonus B", "A time window with two parameters", 1, True, (
        Answer("window_total", "money", "blended cost of the rows whose UsageStartDate is in "
               "[start, end) of contest.window(), times in UTC"),
        Answer("window_users", "money per user", "the same, per user"),
    )),
    Task("pacific", "bonus C", "UTC compensation: Pacific days", 1, True, (
        Answer("pacific_daily", "money per day", "spend per America/Los_Angeles day (PST -8, "
               "PDT -7) from the first to the last day with dated rows"),
    )),
)
ANSWERS: dict[str, Answer] = {a.name: a for t in TASKS for a in t.answers}
TASK_OF: dict[str, str] = {a.name: t.key for t in TASKS for a in t.answers}
