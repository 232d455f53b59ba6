"""Properties that hold for any bill: money is neither made nor lost by slicing it."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import costlib
import costlib.money
from conftest import tiny_bill

START = np.datetime64("2026-03-01T00:00:00")  # the month crosses the DST switch of 8 March
OWNERS = ["alice", "bob", "", 'Zoë, "Z" <z>', "chen.wei"]
ZONES = ["UTC", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham"]


def _stamp(t: np.datetime64) -> str:
    return str(t.astype("datetime64[s]")).replace("T", " ")


@st.composite
def rows(draw):
    dated = draw(st.booleans() | st.just(True))
    cost = Decimal(draw(st.integers(-10**9, 10**11))).scaleb(-8)
    owner = draw(st.sampled_from(OWNERS))
    if not dated:
        return ("", "", f"{cost:.8f}", owner)
    hour = draw(st.integers(-24, 31 * 24))
    seconds = draw(st.sampled_from([3600, 3599, 7200, 3600 * 30 + 17]))
    start = START + np.timedelta64(hour, "h")
    return (_stamp(start), _stamp(start + np.timedelta64(seconds, "s")), f"{cost:.8f}", owner)


bills = st.lists(rows(), min_size=1, max_size=60).map(lambda r: tiny_bill(r, month="2026-03"))
moments = st.integers(-2 * 24, 33 * 24).map(lambda h: START + np.timedelta64(h, "h"))
common = settings(max_examples=60, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])


@common
@given(bills, st.sampled_from(ZONES), st.booleans())
def test_users_and_days_add_up_to_the_total_to_the_unit(bill, tz, spread):
    s = costlib.spend(bill, tz=tz, spread=spread)
    exact = sum(Decimal(str(c)) for c in bill.items["BlendedCost"])
    assert costlib.money.exact(s.total_units) == exact
    assert s.users_add_up
    assert int(s.table.sum(axis=0).sum()) == int(s.table.sum(axis=1).sum()) == s.total_units
    assert abs(s.per_user.sum() - s.total) < 1e-6


@common
@given(bills, st.sampled_from(ZONES), moments, moments, moments, st.booleans())
def test_a_window_split_in_two_adds_up(bill, tz, a, b, c, spread):
    a, b, c = sorted([a, b, c])
    if not a < b < c:
        return
    whole = costlib.spend(bill, start=a, end=c, tz="UTC", spread=spread)
    left = costlib.spend(bill, start=a, end=b, tz="UTC", spread=spread)
    right = costlib.spend(bill, start=b, end=c, tz="UTC", spread=spread)
    assert left.total_units + right.total_units == whole.total_units
    assert whole.users_add_up and left.users_add_up and right.users_add_up
    local = [costlib.spend(bill, start=x, end=y, tz=tz, spread=spread) for x, y in ((a, b), (b, c))]
    joined = costlib.spend(bill, start=a, end=c, tz=tz, spread=spread)
    assert local[0].total_units + local[1].total_units == joined.total_units


@common
@given(bills, st.sampled_from(ZONES[1:]), st.booleans())
def test_utc_and_local_views_hold_the_same_money(bill, tz, spread):
    utc = costlib.spend(bill, spread=spread)
    local = costlib.spend(bill, tz=tz, spread=spread)
    assert local.total_units == utc.total_units
    assert local.per_user.to_dict() == utc.per_user.to_dict()
    assert int(local.table[:-1].sum()) == int(utc.table[:-1].sum())  # dated money
    assert len(local.days) in (len(utc.days), len(utc.days) + 1, max(len(utc.days) - 1, 0))


@common
@given(bills, st.sampled_from(ZONES))
def test_daily_rows_sum_to_the_dated_rows(bill, tz):
    s = costlib.spend(bill, tz=tz)
    starts = bill.items["UsageStartDate"]
    dated = costlib.money.units(bill.items.loc[starts.notna(), "BlendedCost"].to_numpy()).sum()
    assert int(s.table[:-1].sum()) == int(dated)
    assert s.daily.shape == (len(s.days), len(s.users))
