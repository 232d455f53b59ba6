"""The per-user daily plot: what the lines hold (not pixels), the folding, the PNG file."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib import dates as mdates
from matplotlib.axes import Axes

from costlib.plot import (
    OTHER_COLOR,
    UNTAGGED_COLOR,
    DollarFormatter,
    fold_users,
    line_style,
    plot_daily,
    save_plot,
    user_color,
)
from costlib.reading import read
from costlib.spending import UNTAGGED, spend

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "012345678901"
NAME = f"{ACCOUNT}-aws-billing-detailed-line-items-with-resources-and-tags-2026-02.csv"
HEADER = ("InvoiceID,PayerAccountId,LinkedAccountId,RecordType,RecordId,ProductName,"
          "UsageStartDate,UsageEndDate,BlendedCost,user:Owner")
#: Spend per day and user ("" is untagged): nine users, so top=6 folds three into "other".
USERS = {"alice": 120.0, "bob": 60.0, "carol": 45.0, "dave": 30.0, "erin": 20.0, "frank": 12.0,
         "grace": 8.0, "heidi": 3.0, "ivan": 1.0, "": 15.0}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Named(io.BytesIO):
    """An open file whose name says the account and month, as a real bill's does."""

    name = NAME


def bill_csv(users: dict[str, float], first: str = "2026-02-01", days: int = 28,
             seed: int = 7) -> bytes:
    """A detailed bill with two charges per user and day (03:00 and 15:00 UTC)."""
    rng = np.random.default_rng(seed)
    rows, rid = [HEADER], 0
    for day in pd.date_range(first, periods=days, freq="D"):
        for user, base in users.items():
            for hour in (3, 15):
                rid += 1
                cost = round(base * rng.uniform(0.3, 1.7) / 2, 8)
                start = day + pd.Timedelta(hours=hour)
                end = start + pd.Timedelta(minutes=59, seconds=59)
                rows.append(f"Estimated,{ACCOUNT},{ACCOUNT},LineItem,{rid},Amazon EC2,"
                            f"{start:%Y-%m-%d %H:%M:%S},{end:%Y-%m-%d %H:%M:%S},{cost},{user}")
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture(autouse=True)
def close_figures():
    """Draw with Agg and leave no pyplot figure behind."""
    matplotlib.use("Agg")
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture(scope="module")
def feb():
    """February 2026 in UTC: nine users and untagged spend."""
    return spend(read(Named(bill_csv(USERS))), start="2026-02-01", end="2026-03-01")


def line_data(ax: Axes) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {line.get_label(): (np.asarray(line.get_xdata()).astype("datetime64[ns]"),
                               np.asarray(line.get_ydata(), dtype="float64"))
            for line in ax.get_lines()}


# fold_users -------------------------------------------------------------------------------

def test_fold_users_keeps_the_top_users_and_folds_the_rest(feb):
    daily = feb.daily
    folded = fold_users(daily, 3)
    assert list(folded.columns) == ["alice", "bob", "carol", "other", "untagged"]
    rest = ["dave", "erin", "frank", "grace", "heidi", "ivan"]
    np.testing.assert_allclose(folded["other"], daily[rest].sum(axis=1), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(folded["untagged"], daily[UNTAGGED])
    np.testing.assert_allclose(folded.sum(axis=1), daily.sum(axis=1), rtol=0, atol=1e-9)
    assert folded.index.equals(daily.index)


@pytest.mark.parametrize("top", [0, 1, 6, 9, 50])
def test_fold_users_preserves_every_days_total(feb, top):
    daily = feb.daily
    before = daily.copy()
    folded = fold_users(daily, top)
    np.testing.assert_allclose(folded.sum(axis=1), daily.sum(axis=1), rtol=0, atol=1e-9)
    assert daily.equals(before)  # the caller's table is left alone
    assert ("other" in folded.columns) == (top < 9)
    assert len(folded.columns) == min(top, 9) + (top < 9) + 1


def test_fold_users_ranks_by_spend_in_the_table_not_column_order():
    days = pd.DatetimeIndex(pd.date_range("2026-02-01", periods=3), name="day")
    daily = pd.DataFrame({"small": [1.0, 1.0, 1.0], "big": [5.0, 0.0, 5.0],
                          "mid": [2.0, 2.0, 2.0], UNTAGGED: [0.5, 0.0, 0.0]}, index=days)
    folded = fold_users(daily, 2)
    assert list(folded.columns) == ["big", "mid", "other", "untagged"]
    assert folded["other"].tolist() == [1.0, 1.0, 1.0]


def test_fold_users_drops_untagged_only_when_it_is_zero_every_day():
    days = pd.DatetimeIndex(pd.date_range("2026-02-01", periods=2), name="day")
    zero = pd.DataFrame({"a": [1.0, 2.0], UNTAGGED: [0.0, 0.0]}, index=days)
    assert list(fold_users(zero, 6).columns) == ["a"]
    credit = pd.DataFrame({"a": [1.0, 2.0], UNTAGGED: [0.0, -0.25]}, index=days)
    assert list(fold_users(credit, 6).columns) == ["a", "untagged"]


def test_fold_users_keeps_a_real_user_named_other():
    days = pd.DatetimeIndex(pd.date_range("2026-02-01", periods=2), name="day")
    daily = pd.DataFrame({"other": [9.0, 9.0], "untagged": [5.0, 5.0], "x": [1.0, 1.0],
                          UNTAGGED: [1.0, 0.0]}, index=days)
    folded = fold_users(daily, 2)
    assert list(folded.columns) == ["other", "untagged", "(other)", UNTAGGED]
    np.testing.assert_allclose(folded.sum(axis=1), daily.sum(axis=1), atol=1e-9)


@pytest.mark.parametrize("top", [-1, 2.5, True, "3"])
def test_fold_users_refuses_a_bad_top(feb, top):
    with pytest.raises(ValueError, match="top"):
        fold_users(feb.daily, top)


# plot_daily -------------------------------------------------------------------------------

def test_plot_draws_top_users_other_and_untagged(feb):
    ax = plot_daily(feb)
    folded = fold_users(feb.daily, 6)
    lines = line_data(ax)
    assert list(lines) == ["alice", "bob", "carol", "dave", "erin", "frank", "other",
                           "untagged"]
    days = feb.daily.index.to_numpy()
    for name, (x, y) in lines.items():
        np.testing.assert_array_equal(x, days)
        np.testing.assert_array_equal(y, folded[name].to_numpy())
    assert {line.get_marker() for line in ax.get_lines()} <= {"o", "s"}
    total = sum(y for _x, y in lines.values())
    np.testing.assert_allclose(total, feb.daily.sum(axis=1), rtol=0, atol=1e-9)


def test_plot_top_changes_what_is_folded(feb):
    ax = plot_daily(feb, top=2)
    assert [line.get_label() for line in ax.get_lines()] == ["alice", "bob", "other",
                                                              "untagged"]


def test_plot_title_names_account_window_and_zone(feb):
    ax = plot_daily(feb)
    title = ax.get_title(loc="left")
    assert ACCOUNT in title
    assert "2026-02-01 .. 2026-02-28 (UTC)" in title
    assert feb.label in title
    assert plot_daily(feb, title="Mine").get_title(loc="left") == "Mine"


def test_plot_x_axis_is_dates_with_readable_ticks(feb):
    ax = plot_daily(feb)
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.DateFormatter)
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels[0] == "Feb 01"
    assert 4 <= len(labels) <= 10
    assert all(len(text) == 6 and text.startswith("Feb ") for text in labels)
    lo, hi = (mdates.num2date(v).date().isoformat() for v in ax.get_xlim())
    assert lo == "2026-01-31" and hi == "2026-02-28"  # half a day of margin each side


def test_plot_y_axis_is_dollars(feb):
    ax = plot_daily(feb)
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(text.startswith("$") for text in labels)
    assert "$0" in labels
    assert ax.get_ylim()[0] == 0


def test_plot_legend_shows_every_series_outside_the_axes(feb):
    ax = plot_daily(feb)
    legend = ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert [t.split()[0] for t in texts] == [line.get_label() for line in ax.get_lines()]
    assert texts[0].endswith(DollarFormatter.text(feb.per_user["alice"], 2))
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    assert legend.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1


def test_plot_without_ax_makes_a_10_by_5_figure_and_does_not_show(feb, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plot_daily called show()"))
    ax = plot_daily(feb)
    assert isinstance(ax, Axes)
    assert tuple(ax.figure.get_size_inches()) == (10.0, 5.0)


def test_plot_draws_on_the_given_axes(feb):
    from matplotlib.figure import Figure

    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plot_daily(feb, ax=right, top=1) is right
    assert not left.get_lines()
    assert len(right.get_lines()) == 3


def test_plot_takes_the_daily_table_too(feb):
    ax = plot_daily(feb.daily, top=3)
    assert len(ax.get_lines()) == 5
    assert ax.get_title(loc="left") == "Daily spend per user"


def test_plot_refuses_other_things():
    with pytest.raises(TypeError, match="Spend"):
        plot_daily([1, 2, 3])


def test_plot_of_a_window_without_spend(feb):
    quiet = spend(feb.bill, start="2026-04-01", end="2026-04-08")
    ax = plot_daily(quiet)
    assert not ax.get_lines()
    assert ax.get_legend() is None
    assert any("no spend" in t.get_text() for t in ax.texts)


def test_pacific_window_across_the_spring_switch_is_just_days():
    """28 Pacific days around 2026-03-08 (a 23-hour day): one point per day, nothing odd."""
    march = Named(bill_csv({"alice": 10.0, "bob": 5.0, "": 1.0}, first="2026-02-25", days=40))
    march.name = NAME.replace("2026-02", "2026-03")  # (a February file could not hold April)
    bill = read(march)
    data = spend(bill, start="2026-02-20", end="2026-03-20", tz="America/Los_Angeles")
    ax = plot_daily(data)
    expected = np.arange(np.datetime64("2026-02-20"), np.datetime64("2026-03-20"))
    for x, _y in line_data(ax).values():
        np.testing.assert_array_equal(x, expected.astype("datetime64[ns]"))
    assert "(America/Los_Angeles)" in ax.get_title(loc="left")
    assert ax.get_xlabel() == "day (America/Los_Angeles)"


def colors(ax: Axes) -> dict[str, str]:
    return {line.get_label(): matplotlib.colors.to_hex(line.get_color()) for line in ax.get_lines()}


def test_a_user_keeps_its_colour_between_plots_with_different_users(feb):
    few = {"heidi": 50.0, "bob": 5.0, "": 2.0}  # heidi leads here, ranks 8th in feb
    other = spend(read(Named(bill_csv(few, seed=3))), start="2026-02-01", end="2026-03-01")
    first, second = colors(plot_daily(feb, top=9)), colors(plot_daily(other))
    assert list(second)[:2] == ["heidi", "bob"] and list(first).index("heidi") == 7
    for user in ("heidi", "bob"):
        assert first[user] == second[user] == matplotlib.colors.to_hex(user_color(user))
    assert first["untagged"] == second["untagged"] == matplotlib.colors.to_hex(UNTAGGED_COLOR)


def test_colours_come_from_the_name_alone():
    assert user_color("alice") == user_color("alice")
    assert user_color("(untagged)") == UNTAGGED_COLOR
    assert len({user_color(f"user{i}") for i in range(200)}) > 10  # the palette is used
    assert UNTAGGED_COLOR not in {user_color(f"user{i}") for i in range(200)}


def test_lines_sharing_a_colour_differ_in_style():
    names = [f"user{i}" for i in range(40)]
    styles = line_style(names + ["other", "untagged"])
    seen = set()
    for name, style in zip(names, styles, strict=False):
        assert style["color"] == user_color(name)
        shared = style["color"] in seen
        seen.add(style["color"])
        assert (style["linestyle"], style["marker"]) == (("-.", "s") if shared else ("-", "o"))
    assert styles[-2] == {"color": OTHER_COLOR, "linestyle": "--", "marker": "o"}
    assert styles[-1] == {"color": UNTAGGED_COLOR, "linestyle": ":", "marker": "o"}


def test_dollar_formatter():
    assert DollarFormatter.text(1234) == "$1,234"
    assert DollarFormatter.text(-1234.5, 2) == "-$1,234.50"
    fmt = DollarFormatter()
    assert fmt.format_ticks([0, 50, 100, 150]) == ["$0", "$50", "$100", "$150"]
    assert fmt.format_ticks([0, 0.25, 0.5]) == ["$0.00", "$0.25", "$0.50"]
    assert fmt(2500) == "$2,500"


# save_plot --------------------------------------------------------------------------------

def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which must come first."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_save_plot_writes_a_png(feb, tmp_path):
    path = save_plot(feb, tmp_path / "spend.png", top=3)
    assert path == tmp_path / "spend.png"
    assert path.stat().st_size > 10_000
    assert png_size(path) == (1000, 500)
    if "matplotlib.pyplot" in sys.modules:
        assert not sys.modules["matplotlib.pyplot"].get_fignums()


def test_save_plot_takes_a_string_path(feb, tmp_path):
    path = save_plot(feb, str(tmp_path / "spend.png"))
    assert isinstance(path, Path) and path.exists()


def test_save_plot_works_headless_without_mplbackend(tmp_path):
    """A fresh process, no MPLBACKEND and no display; importing costlib.plot loads no pyplot."""
    bill = tmp_path / NAME
    bill.write_bytes(bill_csv(USERS))
    script = textwrap.dedent(f"""
        import sys
        import costlib
        before = "matplotlib.pyplot" in sys.modules
        from costlib.plot import save_plot
        from costlib.reading import read
        from costlib.spending import spend
        assert ("matplotlib.pyplot" in sys.modules) == before, "importing plot loaded pyplot"
        path = save_plot(spend(read({str(bill)!r})), {str(tmp_path / "out.png")!r})
        print("pyplot" if "matplotlib.pyplot" in sys.modules else "no pyplot", path)
    """)
    env = {k: v for k, v in os.environ.items()
           if k not in ("MPLBACKEND", "DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["MPLCONFIGDIR"] = str(tmp_path / "mplconfig")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:2] == ["no", "pyplot"]
    assert png_size(tmp_path / "out.png") == (1000, 500)


def test_legend_cuts_a_long_tag_but_the_line_keeps_it():
    long = "a-very-long-owner-tag-value-from-some-pipeline"
    days = pd.DatetimeIndex(pd.date_range("2026-02-01", periods=3), name="day")
    ax = plot_daily(pd.DataFrame({long: [1.0, 2.0, 3.0]}, index=days))
    assert ax.get_lines()[0].get_label() == long
    shown = ax.get_legend().get_texts()[0].get_text()
    assert shown.startswith(long[:27] + "\u2026") and shown.endswith("$6.00")
