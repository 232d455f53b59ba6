"""Grant pacing, the grantee's share of the spend, and the cache of closed months in S3."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import zipfile
from fractions import Fraction

import pytest

import costlib
import costlib.timezones
from conftest import s3_bucket
from costlib import money
from costlib.notify.config import parse_config
from costlib.notify.digest import (
    BucketSource,
    LocalSource,
    MonthFile,
    fingerprint,
    gather,
    summarize,
)
from costlib.notify.grants import (
    BURN_DAYS,
    ENDED,
    NOT_STARTED,
    ON_TRACK,
    OVER,
    WATCH,
    Grant,
    MonthSummary,
    SummaryCache,
    grantee_days,
    pace,
)
from costlib.sample import SAMPLE_ACCOUNT, make_bill

BUCKET = "costnotify-grants"
PACIFIC = "America/Los_Angeles"
START = dt.date(2026, 1, 1)
GRANT = Grant("G", 1000.0, START, START + dt.timedelta(days=99), ("alice",))  # 100 days


def days_of(rate_units: int, first: dt.date, count: int) -> dict[dt.date, int]:
    return {first + dt.timedelta(days=k): rate_units for k in range(count)}


def per_day(fraction_of_amount: float) -> int:
    """The daily units that would spend ``fraction_of_amount`` of GRANT over its 100 days."""
    return int(money.units([GRANT.amount * fraction_of_amount / GRANT.days])[0])


@pytest.mark.parametrize(("pace_of_amount", "status"), [
    (0.5, ON_TRACK), (1.0, ON_TRACK), (1.05, WATCH), (1.2, OVER)])
def test_status_follows_the_projection_at_the_recent_burn(pace_of_amount, status):
    day = START + dt.timedelta(days=39)  # 40 days in, 60 left
    result = pace(GRANT, day, days_of(per_day(pace_of_amount), START, 40))
    assert result.status == status
    assert result.burn_per_day == per_day(pace_of_amount)
    assert result.projected == result.spent + 60 * result.burn_per_day
    assert result.days_left == 60
    assert result.allowed_per_day == (money.units([GRANT.amount])[0] - result.spent) // 60


def test_burn_is_the_mean_of_the_last_28_days_only():
    early, late = per_day(3.0), per_day(0.5)
    daily = {**days_of(early, START, 12), **days_of(late, START + dt.timedelta(days=12), 28)}
    result = pace(GRANT, START + dt.timedelta(days=39), daily)
    assert result.burn_per_day == late
    assert result.spent == 12 * early + BURN_DAYS * late


def test_spent_more_than_the_amount_is_over_whatever_the_burn():
    daily = {START: int(money.units([1200.0])[0])}
    assert pace(GRANT, START + dt.timedelta(days=50), daily).status == OVER


def test_days_outside_the_grant_and_undated_rows():
    daily = {START - dt.timedelta(days=1): 10**12, START: 10**10, GRANT.end + dt.timedelta(
        days=1): 10**12}
    result = pace(GRANT, START, daily, undated=-(10**10))
    assert result.spent == 0 and result.status == ON_TRACK
    assert pace(GRANT, START - dt.timedelta(days=3), daily).status == NOT_STARTED
    ended = pace(GRANT, GRANT.end + dt.timedelta(days=5), daily)
    assert ended.status == ENDED and ended.days_left == 0 and ended.allowed_per_day is None
    assert ended.spent == 10**10  # the day after the end does not count


def cloudcheckr_bill() -> costlib.Bill:
    data = io.BytesIO(make_bill("2026-03", kind="cloudcheckr", seed=1,
                                tags=("user:Owner", "user:Project")))
    data.name = costlib.bill_name(SAMPLE_ACCOUNT, "2026-03").removesuffix(".zip")
    return costlib.read(data)


def test_custom_charge_share_is_the_grantees_share_of_the_other_spend():
    bill = cloudcheckr_bill()
    by_user = costlib.spend(bill, "user:Owner", tz=PACIFIC)
    by_service = costlib.spend(bill, "ProductName", tz=PACIFIC)
    custom = int(by_service.table[:, by_service.users.index("Custom Charge")].sum())
    other = by_service.total_units - custom
    assert custom > 0
    alice = by_user.users.index("alice")
    plain, _ = grantee_days(by_user, GRANT)
    shared, _ = grantee_days(by_user, GRANT, (custom, other))
    for i, day in enumerate(by_user.days):
        own = int(by_user.table[i, alice])
        assert plain.get(day.astype(dt.date), 0) == own
        expected = own + round(Fraction(own * custom, other))
        assert shared.get(day.astype(dt.date), 0) == expected
    without = Grant("G", 1000.0, START, GRANT.end, ("alice",), custom_charge=False)
    assert grantee_days(by_user, without, (custom, other))[0] == plain


def native_bill(month: str = "2026-02") -> costlib.Bill:
    data = io.BytesIO(make_bill(month, seed=0))
    data.name = costlib.bill_name(SAMPLE_ACCOUNT, month).removesuffix(".zip")
    return costlib.read(data)


def test_credits_count_only_when_the_grant_says_so():
    bill = native_bill()
    config = parse_config({"account": SAMPLE_ACCOUNT, "tag": "user:Owner", "grants": [
        {"name": "with", "amount": 100, "start": "2026-02-01", "end": "2026-02-28",
         "tags": ["chen.wei"]},
        {"name": "without", "amount": 100, "start": "2026-02-01", "end": "2026-02-28",
         "tags": ["chen.wei"], "credits": False}]})
    file = MonthFile("2026-02", bill.name, "etag")
    summary, _ = summarize(bill, file, config, set(), dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    whole = costlib.spend(bill, "user:Owner", tz=config.tz)
    chen = whole.users.index("chen.wei")
    credit = int(whole.table[-1, chen])  # the research credit has no dates
    assert credit < 0
    assert summary.grants["with"][1] == credit
    assert summary.grants["without"][1] == 0
    assert summary.grants["with"][0] == summary.grants["without"][0]  # no dated credits
    assert sum(summary.grants["with"][0].values()) == int(whole.table[:-1, chen].sum())


def test_month_summary_survives_json():
    summary = MonthSummary("2026-02", "abc", True, {START: 5, START + dt.timedelta(days=1): -2},
                           {"G": ({START: 3}, -7)}, undated=-9,
                           data_through=costlib.timezones.instant("2026-03-01"))
    again = MonthSummary.from_json("2026-02", json.loads(json.dumps(summary.as_json())))
    assert again == summary


@pytest.fixture
def bucket(aws_env):
    with s3_bucket(BUCKET) as s3:
        yield s3


def test_cache_keeps_closed_months_for_one_fingerprint_and_etag(bucket, caplog):
    closed = MonthSummary("2026-01", "e1", True, {START: 5})
    still_open = MonthSummary("2026-02", "e2", False, {START: 5})
    cache = SummaryCache(bucket, BUCKET, "state/cache.json", "fp1").load()
    cache.put(closed)
    cache.put(still_open)
    cache.save()
    again = SummaryCache(bucket, BUCKET, "state/cache.json", "fp1").load()
    assert again.get("2026-01", "e1") == closed
    assert again.get("2026-01", "rewritten") is None
    assert again.get("2026-02", "e2") is None
    assert SummaryCache(bucket, BUCKET, "state/cache.json", "fp2").load().months == {}
    bucket.put_object(Bucket=BUCKET, Key="state/cache.json", Body=b"{not json")
    with caplog.at_level(logging.WARNING, logger="costlib.notify"):
        assert SummaryCache(bucket, BUCKET, "state/cache.json", "fp1").load().months == {}
    assert "unusable" in caplog.text


def test_a_cached_month_is_used_instead_of_its_file(bucket):
    config = parse_config({"account": SAMPLE_ACCOUNT, "bucket": BUCKET, "tag": "user:Owner",
                           "grants": [{"name": "G", "amount": 100, "start": "2026-02-01",
                                       "end": "2026-06-30", "tags": ["alice"]}]})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("feb.csv", make_bill("2026-02", seed=0))
    bucket.put_object(Bucket=BUCKET, Key=costlib.bill_name(SAMPLE_ACCOUNT, "2026-02"),
                      Body=buffer.getvalue())
    source = BucketSource(BUCKET, SAMPLE_ACCOUNT, s3=bucket)
    (feb,) = source.files().values()
    now = dt.datetime(2026, 3, 25, tzinfo=dt.UTC)
    real, _ = summarize(source.read(feb), feb, config, set(), now)
    assert real.closed
    doctored = MonthSummary("2026-02", feb.etag, True,
                            {d: 2 * v for d, v in real.daily.items()},
                            {"G": ({d: 3 * v for d, v in real.grants["G"][0].items()}, 0)},
                            data_through=real.data_through)
    key = "costnotify/cache/x.json"
    cache = SummaryCache(bucket, BUCKET, key, fingerprint(config))
    cache.put(doctored)
    cache.save()
    day = dt.date(2026, 3, 3)  # March has no file: February alone, from the cache
    digest = gather(config, day, source, now=now,
                    cache=SummaryCache(bucket, BUCKET, key, fingerprint(config)).load())
    assert digest.read == [] and digest.missing == ["2026-03"]
    feb_days = [d for d in real.daily if d.month == 2]
    assert all(digest.daily[d] == 2 * real.daily[d] for d in feb_days)
    since_start = sum(v for d, v in real.grants["G"][0].items() if d >= dt.date(2026, 2, 1))
    assert digest.grants[0].spent == 3 * since_start
    fresh = gather(config, day, source, now=now)  # without the cache: the file itself
    assert fresh.read == ["2026-02"] and fresh.grants[0].spent == since_start


def test_local_source_reads_each_file_once_and_finds_the_last_full_day():
    bill = native_bill()
    source = LocalSource(bill)
    assert source.read(source.files()["2026-02"]) is bill
    # data end at 1 March 00:00 UTC, 28 Feb 16:00 in Seattle: the 27th is the last full day
    assert source.last_full_day(PACIFIC) == dt.date(2026, 2, 27)
    assert source.last_full_day("UTC") == dt.date(2026, 2, 28)


def test_a_grant_not_started_counts_its_days_from_its_start_and_allows_nothing_yet():
    early = pace(GRANT, START - dt.timedelta(days=30), {})
    assert early.status == NOT_STARTED
    assert early.days_left == GRANT.days  # not 130 days counted from today
    assert early.allowed_per_day is None and early.spent == 0


def test_an_overspent_grant_allows_nothing_rather_than_a_negative_amount():
    daily = {START: int(money.units([1200.0])[0])}
    over = pace(GRANT, START + dt.timedelta(days=50), daily)
    assert over.remaining < 0 and over.allowed_per_day == 0


def test_the_cache_keeps_each_closed_month_as_soon_as_it_is_read(bucket, monkeypatch):
    """A first run that dies on a later month (a timeout, here a file that cannot be read)
    keeps the closed months it got through, so the next run does not start over."""
    config = parse_config({"account": SAMPLE_ACCOUNT, "bucket": BUCKET, "tag": "user:Owner",
                           "grants": [{"name": "G", "amount": 100, "start": "2026-01-01",
                                       "end": "2026-06-30", "tags": ["alice"]}]})
    for month in ("2026-01", "2026-02"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(f"{month}.csv", make_bill(month, seed=0))
        bucket.put_object(Bucket=BUCKET, Key=costlib.bill_name(SAMPLE_ACCOUNT, month),
                          Body=buffer.getvalue())
    bucket.put_object(Bucket=BUCKET, Key=costlib.bill_name(SAMPLE_ACCOUNT, "2026-03"),
                      Body=b"not a zip")
    key = "costnotify/cache/first.json"
    source = BucketSource(BUCKET, SAMPLE_ACCOUNT, s3=bucket)
    with pytest.raises(costlib.CostlibError):
        gather(config, dt.date(2026, 3, 3), source, now=dt.datetime(2026, 3, 25, tzinfo=dt.UTC),
               cache=SummaryCache(bucket, BUCKET, key, fingerprint(config)).load())
    kept = SummaryCache(bucket, BUCKET, key, fingerprint(config)).load()
    assert sorted(kept.months) == ["2026-01", "2026-02"]
