"""The per-user daily plot: who spent what, day by day, in a window.

Drawn from :attr:`costlib.Spend.daily` after :func:`fold_users`, so that the lines carry
exactly the numbers of a table the caller can check. Importing this module does not import
``matplotlib.pyplot`` (which would pick an interactive backend): :func:`save_plot` renders
with ``Figure`` + ``FigureCanvasAgg`` and works on a headless machine, and :func:`plot_daily`
touches pyplot only when it has to create a figure for a notebook.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib import ticker
from matplotlib.axes import Axes

from .spending import OTHER, UNTAGGED, UNTAGGED_LABEL, Spend, fold_counted, fold_users

__all__ = ["OTHER", "UNTAGGED_LABEL", "DollarFormatter", "default_title", "fold_users",
           "plot_daily", "save_plot"]

FIGSIZE = (10.0, 5.0)
DPI = 100
#: At most this many labelled days on the x axis; every day still gets a minor tick.
MAX_DAY_LABELS = 10
_OTHER_STYLE = {"color": "0.55", "linestyle": "--"}
_UNTAGGED_STYLE = {"color": "0.1", "linestyle": ":"}


def plot_daily(data: Spend | pd.DataFrame, *, top: int = 6, title: str | None = None,
               ax: Axes | None = None) -> Axes:
    """Draw daily spend per user, one line with a marker per day, and return the Axes.

    ``data`` is a :class:`~costlib.Spend` (or its ``.daily`` table). The ``top`` users
    get a line each, the rest one ``"other"`` line, untagged spend its own ``"untagged"``
    line; the lines hold exactly ``fold_users(data.daily, top)``.

    Lines rather than a stacked area: the course asks "whose spend jumped on which day", and a
    line per user reads that directly, while in a stack every band rides on the ones below and
    a negative day (a credit) breaks the picture. The legend (with each series' total) sits
    outside the axes on the right so it never covers a day. With ``ax=None`` a new 10x5 figure
    is created through pyplot (seaborn style); nothing is shown, the caller composes.

    >>> import costlib
    >>> ax = plot_daily(costlib.spend(costlib.read(costlib.sample_path())), top=3)
    >>> [line.get_label() for line in ax.get_lines()][-3:]   # three users, then the rest
    ['bob', 'other', 'untagged']
    """
    if isinstance(data, Spend):
        daily = data.daily
        if title is None:
            title = default_title(data)
    elif isinstance(data, pd.DataFrame):
        daily = data
        if title is None:
            title = "Daily spend per user"
    else:
        raise TypeError(f"plot_daily() takes a Spend or its .daily table, "
                        f"not {type(data).__name__}")
    table, n_users = fold_counted(daily, top)
    if ax is None:
        import matplotlib.pyplot as plt

        _fig, ax = plt.subplots(figsize=FIGSIZE, layout="constrained")

    days = pd.DatetimeIndex(daily.index).to_numpy(dtype="datetime64[ns]")
    colors = iter(_user_colors())
    lines = []
    untagged = UNTAGGED in daily.columns and bool((daily[UNTAGGED] != 0).any())
    for i, name in enumerate(table.columns):
        if i < n_users:
            style = {"color": next(colors), "linestyle": "-"}
        elif untagged and i == len(table.columns) - 1:
            style = _UNTAGGED_STYLE
        else:
            style = _OTHER_STYLE
        lines += ax.plot(days, table[name].to_numpy(dtype="float64"), marker="o",
                         markersize=4, linewidth=1.6, label=str(name), **style)

    _date_axis(ax, days)
    ax.yaxis.set_major_formatter(DollarFormatter())
    ax.yaxis.set_major_locator(ticker.MaxNLocator(nbins=7, steps=[1, 2, 2.5, 5, 10]))
    if table.size == 0 or float(np.nanmin(table.to_numpy())) >= 0:
        ax.set_ylim(bottom=0)
    ax.set_ylabel("spend per day (USD)")
    tz = data.tz if isinstance(data, Spend) else None
    ax.set_xlabel(f"day ({tz})" if tz else "day")
    ax.grid(True, axis="y", alpha=0.3)
    ax.grid(True, axis="x", which="major", alpha=0.15)
    ax.set_title(title, fontsize=11, loc="left")
    if len(table.columns):
        totals = table.sum(axis=0)
        labels = [f"{_short(line.get_label())}  {DollarFormatter.text(totals[col], 2)}"
                  for line, col in zip(lines, table.columns, strict=True)]
        ax.legend(lines, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0.0, frameon=False, fontsize=9,
                  title="user: window total",
                  title_fontsize=9, alignment="left")
    else:
        ax.text(0.5, 0.5, "no spend in this window", transform=ax.transAxes,
                ha="center", va="center", color="0.4")
    return ax


def save_plot(data: Spend | pd.DataFrame, path: str | os.PathLike, **kwargs) -> Path:
    """Render :func:`plot_daily` to a PNG at ``path`` and return the path.

    Uses the Agg canvas directly, not pyplot, so it runs headless whatever ``MPLBACKEND`` says
    and leaves no figure open. ``kwargs`` go to :func:`plot_daily` (``top``, ``title``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out = Path(path)
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    # Written beside the target and renamed over it: a write that fails (a full disk) leaves
    # the old picture, never half a new one.
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        plot_daily(data, ax=fig.add_subplot(), **kwargs)
        fig.savefig(partial, format="png", dpi=DPI)
        os.replace(partial, out)
    finally:
        fig.clear()
        partial.unlink(missing_ok=True)
    return out


def default_title(data: Spend) -> str:
    """``AWS 012345678901: daily spend per user, 2026-02-01 .. 2026-02-28 (UTC)``."""
    account = data.bill.account
    who = f"AWS {account}" if account else f"AWS bill {os.path.basename(data.bill.name)}"
    return f"{who}: daily spend per user, {data.label}"


class DollarFormatter(ticker.Formatter):
    """Tick labels in dollars, ``$1,234``; cents only when the ticks need them to differ."""

    @staticmethod
    def text(value: float, decimals: int = 0) -> str:
        """``-1234.5`` -> ``-$1,234.50`` with ``decimals=2``."""
        sign = "-" if round(value, decimals) < 0 else ""
        return f"{sign}${abs(value):,.{decimals}f}"

    def __call__(self, x: float, pos: int | None = None) -> str:
        """One label (the cursor read-out): whole dollars unless the value is under $10."""
        return self.text(x, 0 if abs(x) >= 10 or float(x).is_integer() else 2)

    def format_ticks(self, values) -> list[str]:
        """All tick labels at once, with the same number of decimals."""
        whole = all(abs(v - round(v)) < 1e-9 for v in values)
        return [self.text(v, 0 if whole else 2) for v in values]


def _short(name: str, width: int = 28) -> str:
    """A legend entry's name, cut with an ellipsis so one long tag cannot squeeze the axes."""
    return name if len(name) <= width else name[: width - 1] + "\u2026"


def _user_colors() -> list:
    """tab10 without its grey (kept for "other"), then tab20 for a long ``top``."""
    from matplotlib import colormaps

    tab10 = [c for i, c in enumerate(colormaps["tab10"].colors) if i != 7]
    return tab10 + list(colormaps["tab20"].colors) * 10


def _date_axis(ax: Axes, days: np.ndarray) -> None:
    """Labels every few days (``Feb 03``), a minor tick every day, half a day of margin."""
    if not len(days):
        return
    step = max(1, math.ceil(len(days) / MAX_DAY_LABELS))
    ax.xaxis.set_major_locator(ticker.FixedLocator(mdates.date2num(days[::step])))
    ax.xaxis.set_minor_locator(ticker.FixedLocator(mdates.date2num(days)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))
    half = np.timedelta64(12, "h")
    ax.set_xlim(days[0] - half, days[-1] + half)
