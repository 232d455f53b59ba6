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
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib import ticker
from matplotlib.axes import Axes

from .spending import OTHER, UNTAGGED, UNTAGGED_LABEL, Spend, fold_counted, fold_users

__all__ = ["OTHER", "PALETTE", "UNTAGGED_LABEL", "DollarFormatter", "default_title",
           "fold_users", "line_style", "plot_daily", "save_plot", "user_color"]

FIGSIZE = (10.0, 5.0)
DPI = 100
#: At most this many labelled days on the x axis; every day still gets a minor tick.
MAX_DAY_LABELS = 10
#: Users' colours: tab10 without its grey, then tab20b's darker hues. A user's colour is
#: picked by its name alone (:func:`user_color`), so it is the same in every plot.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#bcbd22", "#17becf", "#393b79", "#5254a3", "#637939", "#8ca252", "#8c6d31",
           "#bd9e39", "#843c39", "#ad494a", "#7b4173", "#a55194")
UNTAGGED_COLOR = "0.3"  #: untagged spend: always this grey, dotted
OTHER_COLOR = "0.65"  #: the users folded into "other": a lighter grey, dashed
_OTHER_STYLE = {"color": OTHER_COLOR, "linestyle": "--", "marker": "o"}
_UNTAGGED_STYLE = {"color": UNTAGGED_COLOR, "linestyle": ":", "marker": "o"}


def user_color(name: str) -> str:
    """The colour of ``name``'s line in every plot: fixed by the name, not by its rank.

    >>> user_color("alice") == user_color("alice"), user_color("(untagged)")
    (True, '0.3')

    Untagged spend is grey. With more users than colours some share one: then
    :func:`line_style` tells them apart by the line.
    """
    if name == UNTAGGED:
        return UNTAGGED_COLOR
    return PALETTE[zlib.crc32(str(name).encode("utf-8")) % len(PALETTE)]


def line_style(names: list[str], n_users: int | None = None) -> list[dict]:
    """Matplotlib styles for the lines ``names``, in order, as :func:`plot_daily` draws them.

    The first ``n_users`` (default: all but ``"other"``/``"untagged"``) are users, coloured
    by :func:`user_color`, solid with round markers; a user whose colour an earlier line
    already has is drawn dash-dotted with square markers. Then ``"other"`` (dashed, light
    grey) and ``"untagged"`` (dotted, grey), as :func:`fold_users` names them.

    >>> [s["color"] for s in line_style(["alice", "other", "untagged"])]
    ['#5254a3', '0.65', '0.3']
    """
    if n_users is None:
        n_users = sum(name not in (OTHER, UNTAGGED_LABEL, UNTAGGED) for name in names)
    styles, taken = [], set()
    for i, name in enumerate(names):
        if i >= n_users:
            untagged = name in (UNTAGGED_LABEL, UNTAGGED) and i == len(names) - 1
            styles.append(dict(_UNTAGGED_STYLE if untagged else _OTHER_STYLE))
            continue
        color = user_color(name)
        shared = color in taken
        taken.add(color)
        styles.append({"color": color, "linestyle": "-." if shared else "-",
                       "marker": "s" if shared else "o"})
    return styles


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
    lines = []
    names = [str(name) for name in table.columns]
    styles = line_style(names, n_users)
    for name, column, style in zip(names, table.columns, styles, strict=True):
        lines += ax.plot(days, table[column].to_numpy(dtype="float64"), markersize=4,
                         linewidth=1.6, label=name, **style)

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
