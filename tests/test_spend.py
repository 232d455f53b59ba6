"""Spend per user and per day: windows, zones, DST, spreading, undated rows."""

from __future__ import annotations

import numpy as np
import pytest

import costlib
from conftest import tiny_bill

PT = "America/Los_Angeles"


def hourly(day: str, hours=range(24), cost="1.00000000", owner="alice"):
    """One row per hour of a UTC day."""
    rows = []
    for h in hours:
        start = np.datetime64(f"{day}T00:00") + np.timedelta64(h, "h")
        end = start + np.timedelta64(1, "h")
        rows.append((str(start).replace("T", " ") + ":00", str(end).replace("T", " ") + ":00",
                     cost, owner))
    return rows


def test_pacific_day_is_23_hours_on_the_spring_sunday_and_25_in_autumn():
    spring = tiny_bill(hourly("2026-03-07", range(96)))
    days = costlib.spend(spring, tz=PT, start="2026-03-07", end="2026-03-10").daily.sum(axis=1)
    # a dollar an hour: Sat 7 Mar (PST, 16 UTC hours on the 7th + 8 on the 8th) = 24,
    # Sun 8 Mar loses an hour = 23, Mon 9 Mar (PDT) = 24.
    assert list(days) == [24.0, 23.0, 24.0]
    autumn = tiny_bill(hourly("2026-10-31", range(96)))
    days = costlib.spend(autumn, tz=PT, start="2026-10-31", end="2026-11-03").daily.sum(axis=1)
    assert list(days.index.strftime("%a %d")) == ["Sat 31", "Sun 01", "Mon 02"]
    assert list(days) == [24.0, 25.0, 24.0]


SWITCHES = ["America/Los_Angeles", "America/Santiago", "America/Havana", "Asia/Beirut",
            "Australia/Lord_Howe", "America/St_Johns", "Pacific/Chatham", "Asia/Tehran",
            "Africa/Casablanca", "Europe/London", "Asia/Kolkata", "UTC"]


@pytest.mark.parametrize("tz", SWITCHES)
def test_local_days_and_their_starts_agree_with_pandas(tz):
    """The days and their UTC starts are worked out with the standard library's zoneinfo
    (no pandas for the report); pandas' own localisation (a doubled midnight: the first; a
    midnight that never happens: the switch) agrees across years of switches, including zones
    that switch at midnight (Santiago, Havana, Beirut) or by half an hour (Lord Howe)."""
    from zoneinfo import ZoneInfo

    import pandas as pd

    from costlib.timezones import day_starts, local_days

    for year in (1971, 2011, 2026, 2038, 2150):
        days = np.arange(np.datetime64(f"{year}-01-01"), np.datetime64(f"{year + 1}-01-02"))
        local = pd.DatetimeIndex(np.append(days, days[-1] + 1).astype("datetime64[ns]"))
        expected = local.tz_localize(ZoneInfo(tz), ambiguous=True, nonexistent="shift_forward")
        expected = expected.tz_convert("UTC").tz_localize(None).to_numpy()
        assert (day_starts(days, tz) == expected).all(), (tz, year)
        for first, last in [(f"{year}-03-05T07:59:59.999999999", f"{year}-11-01T08:30"),
                            (f"{year}-12-31T23:59:59", f"{year}-12-31T23:59:59")]:
            lo, hi = (pd.Timestamp(t).tz_localize("UTC").tz_convert(ZoneInfo(tz)).date()
                      for t in (first, last))
            assert local_days(np.datetime64(first), np.datetime64(last), tz).tolist() == list(
                pd.date_range(lo, hi).date), (tz, first)


def test_a_day_a_zone_skipped_starts_with_the_next():
    """Samoa skipped 30 December 2011 (from UTC-10 to UTC+14 at its midnight): the day has no
    hours, and the next begins at the switch, 10:00 UTC."""
    from costlib.timezones import day_starts

    days = np.arange(np.datetime64("2011-12-29"), np.datetime64("2012-01-01"))
    starts = day_starts(days, "Pacific/Apia")
    assert starts.astype("datetime64[h]").tolist() == [
        np.datetime64("2011-12-29T10", "h").item(), np.datetime64("2011-12-30T10", "h").item(),
        np.datetime64("2011-12-30T10", "h").item(), np.datetime64("2011-12-31T10", "h").item()]


def test_utc_days_never_change_length():
    bill = tiny_bill(hourly("2026-03-07", range(72)))
    days = costlib.spend(bill).daily.sum(axis=1)
    assert list(days) == [24.0, 24.0, 24.0]


def test_cost_belongs_to_the_day_of_usage_start_not_usage_end():
    bill = tiny_bill([("2026-03-01 23:00:00", "2026-03-02 00:00:00", "5.00000000", "alice")])
    daily = costlib.spend(bill).daily
    assert list(daily.index.strftime("%Y-%m-%d")) == ["2026-03-01"]
    assert daily.loc["2026-03-01", "alice"] == 5.0


def test_no_window_in_pacific_starts_on_the_last_day_of_the_previous_month():
    bill = tiny_bill(hourly("2026-02-01", range(3)))
    daily = costlib.spend(bill, tz=PT).daily
    assert list(daily.index.strftime("%Y-%m-%d")) == ["2026-01-31"]


def test_window_is_half_open_and_read_in_the_zone():
    bill = tiny_bill(hourly("2026-03-10", range(48)))
    utc = costlib.spend(bill, start="2026-03-10 05:00", end="2026-03-10 07:00")
    assert utc.total == 2.0
    pacific = costlib.spend(bill, tz=PT, start="2026-03-10", end="2026-03-11")
    assert pacific.start == np.datetime64("2026-03-10T07:00", "ns")
    assert pacific.total == 24.0
    assert list(pacific.days) == [np.datetime64("2026-03-10")]


def test_zero_filled_days_and_every_user_in_every_day():
    bill = tiny_bill([("2026-03-01 00:00:00", "2026-03-01 01:00:00", "1.00000000", "alice"),
                      ("2026-03-04 00:00:00", "2026-03-04 01:00:00", "2.00000000", "bob")])
    daily = costlib.spend(bill).daily
    assert daily.shape == (4, 3)
    assert list(daily.columns) == ["bob", "alice", costlib.UNTAGGED]
    assert daily.sum(axis=1).tolist() == [1.0, 0.0, 0.0, 2.0]


def test_undated_rows_count_in_the_month_but_in_no_window():
    bill = tiny_bill(hourly("2026-03-02", range(2)) + [("", "", "-0.50000000", "alice")])
    whole = costlib.spend(bill)
    assert whole.total == 1.5
    assert whole.per_user["alice"] == 1.5
    assert whole.undated["alice"] == -0.5
    assert whole.daily.to_numpy().sum() == 2.0
    windowed = costlib.spend(bill, start="2026-03-01", end="2026-04-01")
    assert windowed.total == 2.0
    assert not windowed.table[-1].any()


def test_spread_splits_a_long_row_evenly_over_its_hours_exactly():
    # a tax row over 2 days and 1 second -> 49 hourly pieces of a 1-dollar charge
    bill = tiny_bill([("2026-03-01 00:00:00", "2026-03-03 00:00:01", "1.00000000", "alice"),
                      ("2026-03-01 00:00:00", "2026-03-01 00:59:59", "0.10000000", "bob")])
    plain = costlib.spend(bill)
    spread = costlib.spend(bill, spread=True)
    assert plain.daily.sum(axis=1).tolist() == [1.1]  # all on the day the rows start
    assert spread.total_units == plain.total_units
    assert spread.users_add_up
    alice = spread.daily["alice"]
    assert alice.iloc[0] == pytest.approx(24 / 49) and alice.iloc[2] == pytest.approx(1 / 49)
    assert spread.daily["bob"].tolist() == [0.1, 0.0, 0.0]  # 00:00:00-00:59:59 is one hour
    assert int(spread.table[:, 0].sum()) == 10**10  # exact: no unit lost


def test_spread_in_a_window_takes_only_the_hours_inside():
    bill = tiny_bill([("2026-03-01 00:00:00", "2026-03-01 10:00:00", "10.00000000", "alice")])
    assert costlib.spend(bill, start="2026-03-01 02:00", end="2026-03-01 05:00",
                         spread=True).total == 3.0
    assert costlib.spend(bill, start="2026-03-01 02:00", end="2026-03-01 05:00").total == 0.0


def test_fallback_chain_takes_the_first_non_empty_tag():
    bill = tiny_bill([("2026-03-01 00:00:00", "2026-03-01 01:00:00", "1.00000000", "", "proj"),
                      ("2026-03-01 00:00:00", "2026-03-01 01:00:00", "2.00000000", "ann", "p2"),
                      ("2026-03-01 00:00:00", "2026-03-01 01:00:00", "4.00000000", "", "")],
                     tags=("user:Owner", "user:Project"))
    users = costlib.spend_per_user(bill, tag=("user:Owner", "user:Project"))
    assert users.to_dict() == {"proj": 1.0, "ann": 2.0, costlib.UNTAGGED: 4.0} or \
        users.to_dict() == {"ann": 2.0, "proj": 1.0, costlib.UNTAGGED: 4.0}
    assert list(users.index) == ["ann", "proj", costlib.UNTAGGED]
    owner_only = costlib.spend_per_user(bill, tag="user:Owner")
    assert owner_only.to_dict() == {"ann": 2.0, costlib.UNTAGGED: 5.0}


def test_a_tag_missing_from_the_file_is_refused_when_asked_for_by_name():
    bill = tiny_bill(hourly("2026-03-01", range(1)), tags=("user:Name",))
    with pytest.raises(costlib.OptionError, match=r"no tag column user:Owner .*user:Name"):
        costlib.spend(bill, tag="user:Owner")
    assert costlib.spend(bill).per_user.to_dict() == {costlib.UNTAGGED: 1.0}


def test_sums_are_exact_where_floats_drift():
    rows = [("2026-03-01 00:00:00", "2026-03-01 01:00:00", "0.10000000", "a")] * 10
    bill = tiny_bill(rows)
    assert sum(bill.items["BlendedCost"]) != 1.0  # the float trap the course teaches
    assert costlib.blended_total(bill) == 1.0
    tiny = tiny_bill([("2026-03-01 00:00:00", "2026-03-01 01:00:00", "1.92e-08", "a")] * 3)
    assert costlib.spend(tiny).total_units == 576


@pytest.mark.parametrize("when, utc", [("2038-07-01 12:00", "2038-07-01T19:00"),
                                       ("2150-01-15", "2150-01-15T08:00"),
                                       ("2026-03-08 02:30", "2026-03-08T10:00")])
def test_a_time_given_in_a_zone_is_read_by_the_same_rules_as_the_days(when, utc):
    """Times typed in (``--start``, ``--end``) and the local days come from one source of time
    zone rules, zoneinfo: pandas 2.2 would read a zone's name with pytz, whose rules stop in
    2037 (summer 2038 in Seattle came out as winter). A time inside the spring-forward gap
    moves to the switch, as a day's start does."""
    from costlib.timezones import instant

    assert instant(when, "America/Los_Angeles") == np.datetime64(utc, "ns")
