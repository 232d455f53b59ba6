"""The morning email, end to end: the Lambda handler with real boto3 clients against moto's S3,
SES and SNS servers on loopback, three months of synthetic bills in the bucket, the messages
read back from the server and checked against ``costlib.spend``."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import io
import json
import logging
import tomllib
import urllib.request
import uuid
import zipfile
from functools import cache

import boto3
import pytest

import costlib
from conftest import ROOT, run_cli
from costlib import money
from costlib.cli import main
from costlib.notify.config import ConfigError, load_config, parse_config
from costlib.notify.digest import demo_bill
from costlib.notify.lambda_handler import handler
from costlib.notify.message import day_label, sparkline
from costlib.notify.send import Markers
from costlib.sample import ACCOUNT_NAME, SAMPLE_ACCOUNT, make_bill

BUCKET = "costnotify-test"
PACIFIC = "America/Los_Angeles"
TAG = ["user:Owner", "user:Project"]
SENDER = "costnotify@example.org"
# Jan and Feb closed, March open with data through the 20th (UTC); 8 March is a 23-hour day.
MONTHS = {"2026-01": dict(closed=True, resources=6, seed=3),
          "2026-02": dict(closed=True, seed=0),
          "2026-03": dict(closed=False, days=20, seed=1)}


@cache
def month_zip(month: str) -> bytes:
    """The zipped synthetic bill of ``month``, named as AWS names it."""
    name = costlib.bill_name(SAMPLE_ACCOUNT, month).removesuffix(".zip")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, make_bill(month, **MONTHS[month]))
    return buffer.getvalue()


@cache
def month_bill(month: str) -> costlib.Bill:
    data = io.BytesIO(month_zip(month))
    data.name = costlib.bill_name(SAMPLE_ACCOUNT, month)
    return costlib.read(data)


def units(months, start, end, users=None, tag=TAG) -> int:
    """costlib's own sum over the month files: the window [start, end) in Pacific days."""
    total = 0
    for month in months:
        s = costlib.spend(month_bill(month), tag, start=start, end=end, tz=PACIFIC)
        if users is None:
            total += s.total_units
        else:
            total += int(sum(s.table[:, s.users.index(u)].sum() for u in users if u in s.users))
    return total


def usd(amount_units: int) -> str:
    return money.usd(money.dollars(amount_units))


@pytest.fixture
def bucket(aws_env, monkeypatch):
    """The bucket with the three month files, a verified sender, a config in the bucket."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for month in MONTHS:
        s3.put_object(Bucket=BUCKET, Key=costlib.bill_name(SAMPLE_ACCOUNT, month),
                      Body=month_zip(month))
    boto3.client("sesv2").create_email_identity(EmailIdentity=SENDER)
    yield s3
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
    s3.delete_bucket_policy(Bucket=BUCKET)
    s3.delete_bucket(Bucket=BUCKET)


def configure(s3, monkeypatch, **changes) -> dict:
    """Write a configuration into the bucket, point COSTNOTIFY_CONFIG at it; unique
    recipients per test, since the SES server keeps every message of the session."""
    tag = uuid.uuid4().hex[:8]
    config = {"account": SAMPLE_ACCOUNT, "name": ACCOUNT_NAME, "bucket": BUCKET,
              "sender": SENDER, "recipients": [f"manager-{tag}@example.org"], "tag": TAG,
              "tz": PACIFIC, "top": 4, **changes}
    s3.put_object(Bucket=BUCKET, Key="config/costnotify.json", Body=json.dumps(config).encode())
    monkeypatch.setenv("COSTNOTIFY_CONFIG", f"s3://{BUCKET}/config/costnotify.json")
    return config


def sent_to(endpoint: str, address: str) -> list[email.message.EmailMessage]:
    """Every message the SES server accepted for ``address``, parsed."""
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json") as response:
        data = json.load(response)
    raw = [m["raw_data"] for m in data["ses"]["RawMessage"] if address in m["destinations"]]
    return [email.message_from_string(r, policy=email.policy.default) for r in raw]


def at(day: str) -> dict:
    """A manual event for ``day``, run the next morning (the run's clock matters: a month is
    final ``settle_days`` after it ends)."""
    morning = dt.date.fromisoformat(day) + dt.timedelta(days=1)
    return {"day": day, "time": f"{morning}T15:00:00Z"}


def bodies(message) -> tuple[str, str]:
    return (message.get_body(("plain",)).get_content(),
            message.get_body(("html",)).get_content())


def test_mid_month_email_says_costlibs_numbers(bucket, monkeypatch, aws_env, capsys):
    config = configure(bucket, monkeypatch)
    result = handler({"time": "2026-03-13T15:00:00Z"})  # 08:00 PDT: yesterday is 12 March
    assert result["status"] == "sent" and result["day"] == "2026-03-12"
    (message,) = sent_to(aws_env["AWS_ENDPOINT_URL"], config["recipients"][0])
    day = units(["2026-03"], "2026-03-12", "2026-03-13")
    mtd = units(["2026-02", "2026-03"], "2026-03-01", "2026-03-13")
    before = units(["2026-03"], "2026-03-11", "2026-03-12")
    subject = message["Subject"]  # an unusual user may be named between the two
    assert subject.startswith(f"{usd(day)} on Thu 12 Mar")
    assert subject.endswith(f" - AWS ocean-lab (MTD {usd(mtd)})")
    assert message["From"] == SENDER
    text, page = bodies(message)
    change = money.usd(money.dollars(day - before), sign=True)
    assert f"Change from Wed 11 Mar ({usd(before)}): {change}" in text
    days_in_march = 31
    assert f"ends near {usd(mtd * days_in_march // 12)} (linear, from 12 full days)" in text
    whole = costlib.spend(month_bill("2026-03"), TAG, start="2026-03-12", end="2026-03-13",
                          tz=PACIFIC)
    top = [u for u in whole.users if u != costlib.UNTAGGED]
    mtd_by_user = {u: units(["2026-03"], "2026-03-01", "2026-03-13", [u]) for u in top}
    leader = max(mtd_by_user, key=mtd_by_user.get)
    leader_line = next(line for line in text.splitlines() if line.strip().startswith(leader))
    assert leader_line.split()[-2:] == [usd(units(["2026-03"], "2026-03-12", "2026-03-13",
                                                  [leader])), usd(mtd_by_user[leader])]
    folded = len([u for u, v in mtd_by_user.items() if v]) - 4  # top is 4
    assert f"other ({folded} users)" in text and "untagged" in text
    by_service = costlib.spend(month_bill("2026-03"), "ProductName", start="2026-03-12",
                               end="2026-03-13", tz=PACIFIC)
    ec2 = by_service.per_user["Amazon Elastic Compute Cloud"]
    ec2_line = next(li for li in text.splitlines() if "Elastic Compute Cloud" in li)
    assert ec2_line.split()[-2] == money.usd(ec2)
    first = day_label(dt.date(2026, 3, 12) - dt.timedelta(days=27))
    spark = next(li for li in text.splitlines() if f"{first} .. Thu 12 Mar" in li)
    assert len(spark.split()[0]) == 28 and set(spark.split()[0]) <= set("▁▂▃▄▅▆▇█")
    assert "Provisional" not in text  # the newest data is 8 days later
    # tag values are escaped in HTML, and no raw markup from the tags gets through
    shown = [u for u in top if any(li.strip().startswith(u) for li in text.splitlines())]
    assert len(shown) == 4
    for user in shown:
        assert html.escape(user) in page
    assert "<ops>" not in page and '"ob"' not in page
    assert result["read"] == ["2026-02", "2026-03"]
    assert '"DailyReport": 1' in capsys.readouterr().out


@pytest.mark.parametrize("day", ["2026-03-01", "2026-03-02", "2026-03-08"])
def test_month_boundaries_and_dst_add_up_across_files(bucket, monkeypatch, aws_env, day):
    config = configure(bucket, monkeypatch)
    result = handler(at(day))
    assert result["status"] == "sent"
    (message,) = sent_to(aws_env["AWS_ENDPOINT_URL"], config["recipients"][0])
    d = dt.date.fromisoformat(day)
    nxt, prev = d + dt.timedelta(days=1), d - dt.timedelta(days=1)
    files = ["2026-02", "2026-03"]
    on_day = units(files, d, nxt)
    mtd = units(files, "2026-03-01", nxt)
    assert message["Subject"] == (f"{usd(on_day)} on {day_label(d)} - AWS ocean-lab "
                                  f"(MTD {usd(mtd)})")
    before = units(files, prev, d)
    text, _ = bodies(message)
    assert f"Change from {day_label(prev)} ({usd(before)})" in text
    if day == "2026-03-01":  # 28 Feb (Pacific) is in both files: both were read and added
        assert units(["2026-02"], prev, d) and units(["2026-03"], prev, d)
        assert result["read"] == files
    if day == "2026-03-08":  # the spring-forward Sunday: a 23-hour Pacific day, not UTC's
        assert on_day != sum(costlib.spend(month_bill(m), start=day, end=nxt).total_units
                             for m in files)


def test_closed_months_come_from_the_cache_the_next_morning(bucket, monkeypatch, aws_env):
    grant = {"name": "Argo", "amount": 600, "start": "2026-01-15", "end": "2026-06-30",
             "tags": ["chen.wei"]}
    configure(bucket, monkeypatch, grants=[grant])
    first = handler(at("2026-03-10"))
    assert first["read"] == ["2026-01", "2026-02", "2026-03"]
    cached = json.loads(bucket.get_object(Bucket=BUCKET,
                                          Key=f"costnotify/cache/{SAMPLE_ACCOUNT}.json")["Body"]
                        .read())
    assert sorted(cached["months"]) == ["2026-01", "2026-02"]  # March is open: never cached
    second = handler(at("2026-03-11"))
    assert second["read"] == ["2026-03"]
    assert second["subjects"][0].startswith(usd(units(["2026-03"], "2026-03-11", "2026-03-12")))


def test_a_dry_run_writes_nothing_to_the_bucket(bucket, monkeypatch, aws_env, capsys):
    grant = {"name": "Argo", "amount": 600, "start": "2026-01-15", "end": "2026-06-30",
             "tags": ["chen.wei"]}
    configure(bucket, monkeypatch, grants=[grant])
    before = {o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert main(["notify", "--dry-run", "--day", "2026-03-10",
                 "--config", f"s3://{BUCKET}/config/costnotify.json"]) == 0
    assert capsys.readouterr().out.startswith("Subject: ")
    after = {o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert after == before  # no cache, no marker
    handler(at("2026-03-10"))
    after_real_run = {o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert f"costnotify/cache/{SAMPLE_ACCOUNT}.json" in after_real_run - before


def test_grantee_gets_its_grant_alone_with_credits_since_it_began(bucket, monkeypatch, aws_env):
    grantee = f"chen-{uuid.uuid4().hex[:6]}@example.org"
    grant = {"name": "Argo <floats>", "amount": 600, "start": "2026-01-15",
             "end": "2026-06-30", "tags": ["chen.wei"], "recipients": [grantee]}
    config = configure(bucket, monkeypatch, grants=[grant])
    result = handler(at("2026-03-12"))
    assert sorted(result["sent"]) == ["account", "grant:Argo <floats>"]
    months = ["2026-01", "2026-02", "2026-03"]
    spent = units(months, "2026-01-15", "2026-03-13", ["chen.wei"])
    for month in months:  # the research credit, tagged chen.wei, has no dates
        whole = costlib.spend(month_bill(month), TAG, tz=PACIFIC)
        spent += int(whole.table[-1][whole.users.index("chen.wei")])
    (mine,) = sent_to(aws_env["AWS_ENDPOINT_URL"], grantee)
    text, page = bodies(mine)
    on_day = units(["2026-03"], "2026-03-12", "2026-03-13", ["chen.wei"])
    assert mine["Subject"] == (f"{usd(on_day)} on Thu 12 Mar - grant Argo <floats> on AWS "
                               f"ocean-lab ({usd(spent)} of $600.00 spent)")
    assert f"{usd(spent)} of $600.00" in text and f"{usd(60 * 10**11 - spent)} left" in text
    for other in ("alice", "bob", "dev<ops>", "untagged", "Zoë"):
        assert other not in text
    assert "Argo &lt;floats&gt;" in page and "<floats>" not in page
    (account,) = sent_to(aws_env["AWS_ENDPOINT_URL"], config["recipients"][0])
    row = next(li for li in bodies(account)[0].splitlines() if li.strip().startswith("Argo"))
    assert row.split()[2:4] == ["$600.00", usd(spent)]


def test_retried_invocation_sends_nothing_new(bucket, monkeypatch, aws_env):
    config = configure(bucket, monkeypatch)
    event = {"time": "2026-03-16T15:00:00Z"}
    assert handler(event)["status"] == "sent"
    again = handler(event)
    assert again["status"] == "already sent" and again["read"] == []
    assert len(sent_to(aws_env["AWS_ENDPOINT_URL"], config["recipients"][0])) == 1
    marker = json.loads(bucket.get_object(
        Bucket=BUCKET, Key=f"costnotify/sent/{SAMPLE_ACCOUNT}/2026-03-15/account.json"
    )["Body"].read())
    assert marker["status"] == "sent" and marker["message_id"]


def test_a_second_claim_of_the_same_day_loses(bucket):
    markers = Markers(bucket, BUCKET, "costnotify/", SAMPLE_ACCOUNT)
    day = dt.date(2026, 3, 4)
    assert not markers.exists(day, "account")
    assert markers.claim(day, "account", {"by": "first"}) is True
    assert markers.claim(day, "account", {"by": "second"}) is False  # conditional put refused
    assert markers.exists(day, "account")
    body = json.loads(bucket.get_object(Bucket=BUCKET, Key=markers.key(day, "account"))["Body"]
                      .read())
    assert body["by"] == "first"


def test_recent_days_are_provisional_and_the_newest_partial(bucket, monkeypatch, aws_env):
    config = configure(bucket, monkeypatch)
    assert handler(at("2026-03-20"))["status"] == "partial sent"
    (message,) = sent_to(aws_env["AWS_ENDPOINT_URL"], config["recipients"][0])
    text, _ = bodies(message)
    assert "Partial day" in text and "Provisional: days from Wed 18 Mar on" in text
    import pandas as pd

    newest = month_bill("2026-03").items["UsageStartDate"].max() + pd.Timedelta(hours=1)
    local = newest.tz_convert(PACIFIC)
    assert f"Data through {day_label(local.date())} {local:%H:%M %Z}; file last updated" in text


def test_no_data_waits_then_says_so_once(bucket, monkeypatch, aws_env, caplog, capsys):
    config = configure(bucket, monkeypatch)
    to = config["recipients"][0]
    with caplog.at_level(logging.WARNING, logger="costlib.notify"):
        waiting = handler(at("2026-03-21"))  # data reach 20 March 16:00 PDT
    assert waiting["status"] == "waiting for data" and waiting["sent"] == []
    assert "no data for 2026-03-21 yet" in caplog.text
    assert '"DailyReport": 1' in capsys.readouterr().out  # a deliberate wait is not a miss
    late = handler(at("2026-03-24"))
    assert late["status"] == "data missing sent"
    assert handler(at("2026-03-24"))["status"] == "already sent"
    (message,) = sent_to(aws_env["AWS_ENDPOINT_URL"], to)
    assert message["Subject"] == "No AWS billing data for Tue 24 Mar - AWS ocean-lab"
    assert "4 days before the reported day" in bodies(message)[0]


def test_missing_month_file_is_named_in_the_notice(bucket, monkeypatch, aws_env):
    config = configure(bucket, monkeypatch)
    assert handler(at("2026-04-06"))["status"] == "data missing sent"
    (message,) = sent_to(aws_env["AWS_ENDPOINT_URL"], config["recipients"][0])
    assert costlib.bill_name(SAMPLE_ACCOUNT, "2026-04") in bodies(message)[0]


def test_ses_refusal_is_logged_released_and_retryable(bucket, monkeypatch, aws_env, caplog,
                                                      capsys):
    config = configure(bucket, monkeypatch, sender="unverified@example.org")
    with caplog.at_level(logging.ERROR, logger="costlib.notify"):
        result = handler(at("2026-03-05"))
    assert result["status"] == "failed" and "SES refused" in result["errors"][0]
    assert "not sent: SES refused" in caplog.text
    out = capsys.readouterr().out
    assert '"Failures": 1' in out and "DailyReport" not in out
    assert not Markers(bucket, BUCKET, "costnotify/", SAMPLE_ACCOUNT).exists(
        dt.date(2026, 3, 5), "account")
    boto3.client("sesv2").create_email_identity(EmailIdentity="unverified@example.org")
    assert handler(at("2026-03-05"))["status"] == "sent"
    assert len(sent_to(aws_env["AWS_ENDPOINT_URL"], config["recipients"][0])) == 1


def test_access_denied_is_one_log_line_not_a_crash(bucket, monkeypatch, aws_env, caplog,
                                                   tmp_path):
    path = tmp_path / "costnotify.json"
    path.write_text(json.dumps({"account": SAMPLE_ACCOUNT, "bucket": BUCKET, "sender": SENDER,
                                "recipients": ["nobody@example.org"]}))
    monkeypatch.setenv("COSTNOTIFY_CONFIG", str(path))
    bucket.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{BUCKET}/{SAMPLE_ACCOUNT}-aws-billing-*"}]}))
    with caplog.at_level(logging.ERROR, logger="costlib.notify"):
        result = handler(at("2026-03-05"))
    assert result["status"] == "failed" and "access denied" in result["errors"][0]
    (line,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "failed" in line and "access denied" in line


def test_sns_is_the_alternative(bucket, monkeypatch, aws_env):
    topic = boto3.client("sns").create_topic(Name=f"costnotify-{uuid.uuid4().hex[:6]}")
    configure(bucket, monkeypatch, transport="sns", sns_topic_arn=topic["TopicArn"])
    result = handler(at("2026-03-06"))
    assert result["status"] == "sent"
    with urllib.request.urlopen(f"{aws_env['AWS_ENDPOINT_URL']}/moto-api/data.json") as r:
        topics = json.load(r)["sns"]["Topic"]
    (mine,) = [t for t in topics if t["arn"] == topic["TopicArn"]]
    ((_, message, subject, *_),) = mine["sent_notifications"]
    day = units(["2026-03"], "2026-03-06", "2026-03-07")
    assert subject.startswith(f"{usd(day)} on Fri 6 Mar - AWS ocean-lab")
    assert "Spend per user" in message


def test_bad_configuration_raises_before_anything_is_read(aws_env, monkeypatch, tmp_path):
    monkeypatch.setenv("COSTNOTIFY_CONFIG", "s3://no-such-bucket-here/config.json")
    with pytest.raises(ConfigError, match="cannot read the configuration"):
        handler({})
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"account": SAMPLE_ACCOUNT, "recipients": ["a@example.org"],
                                "bucket": "no-such-bucket-here"}))
    monkeypatch.setenv("COSTNOTIFY_CONFIG", str(path))
    with pytest.raises(ConfigError, match=f"{path}: sender is missing"):
        handler({})


# ------------------------------------------------------------------------ the command line


def last_full_pacific_day(bill):
    import pandas as pd

    through = (bill.items["UsageStartDate"].max() + pd.Timedelta(hours=1)).tz_convert(PACIFIC)
    return through.date() - dt.timedelta(days=0 if through.hour == 0 else 1)


def test_dry_run_with_nothing_reports_the_samples_last_full_day():
    result = run_cli("notify", "--dry-run")
    assert result.returncode == 0, result.stderr
    bill = costlib.read(demo_bill())
    day = last_full_pacific_day(bill)
    nxt = day + dt.timedelta(days=1)
    spend_day = costlib.spend(bill, TAG, start=day, end=nxt, tz=PACIFIC).total
    mtd = costlib.spend(bill, TAG, start=day.replace(day=1), end=nxt, tz=PACIFIC).total
    lines = result.stdout.splitlines()
    assert lines[0] == (f"Subject: {money.usd(spend_day)} on {day_label(day)} - AWS ocean-lab "
                        f"(MTD {money.usd(mtd)})")
    assert lines[1].startswith("From: ") and lines[2].startswith("To: ")
    assert "Grants" in result.stdout and "Spend by service" in result.stdout


def test_dry_run_of_a_given_bill_and_day(tmp_path):
    path = tmp_path / costlib.bill_name(SAMPLE_ACCOUNT, "2026-03")
    path.write_bytes(month_zip("2026-03"))
    result = run_cli("notify", "--dry-run", "--bill", str(path), "--day", "2026-03-08")
    assert result.returncode == 0, result.stderr
    day = units(["2026-03"], "2026-03-08", "2026-03-09")
    assert result.stdout.startswith(f"Subject: {usd(day)} on Sun 8 Mar - AWS ocean-lab")


def test_fall_back_sunday_is_a_25_hour_day(tmp_path):
    from costlib.notify.digest import LocalSource, gather
    from costlib.notify.message import compose

    data = io.BytesIO(make_bill("2026-11", closed=False, days=20, seed=2))
    data.name = costlib.bill_name(SAMPLE_ACCOUNT, "2026-11").removesuffix(".zip")
    bill = costlib.read(data)
    config = parse_config({"account": SAMPLE_ACCOUNT, "name": ACCOUNT_NAME, "tag": TAG})
    digest = gather(config, dt.date(2026, 11, 1), LocalSource(bill),
                    now=dt.datetime(2026, 11, 3, tzinfo=dt.UTC))
    message = compose(digest)
    window = costlib.spend(bill, TAG, start="2026-11-01", end="2026-11-02", tz=PACIFIC)
    assert message.subject == (f"{money.usd(window.total)} on Sun 1 Nov - AWS ocean-lab "
                               f"(MTD {money.usd(window.total)})")  # the 1st: MTD is the day
    utc_day = costlib.spend(bill, TAG, start="2026-11-01", end="2026-11-02")
    assert window.total_units != utc_day.total_units  # 07:00 UTC to 08:00 UTC the next day
    assert "No data for the day before (Sat 31 Oct)" in message.text  # October's file is absent


@pytest.mark.parametrize(("args", "message"), [
    (["notify"], "sends email only with --config"),
    (["notify", "--dry-run", "--day", "8 March"], "not a day: '8 March'"),
    (["notify", "--config", "nowhere.json"], "nowhere.json: no such configuration file"),
])
def test_notify_command_refuses_bad_input_in_one_line(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr


# ---------------------------------------------------------------------------- configuration


GOOD = {"account": SAMPLE_ACCOUNT, "sender": SENDER, "recipients": ["a@example.org"]}


@pytest.mark.parametrize(("change", "message"), [
    ({"account": "12345"}, "account must be 12 digits"),
    ({"account": 12345678901}, "account must be 12 digits"),
    ({"recipient": ["a@example.org"]}, "unknown key 'recipient' (did you mean 'recipients'?)"),
    ({"recipients": ["not an address"]}, "not an email address: 'not an address'"),
    ({"tz": "Pacific"}, "tz: unknown time zone 'Pacific'"),
    ({"days_back": "two"}, "days_back must be a whole number from 0 to 60, not 'two'"),
    ({"days_back": 1.5}, "days_back must be a whole number"),
    ({"transport": "smtp"}, "transport must be ses or sns"),
    ({"bucket": "Copy_DBR"}, "'Copy_DBR' is not an S3 bucket name"),
    ({"grants": [{"name": "G", "amount": 10, "start": "2026-02-01", "end": "2026-01-01",
                  "tags": ["a"]}]}, "grant 'G': end (2026-01-01) is before start"),
    ({"grants": [{"name": "G", "amount": -1, "start": "2026-01-01", "end": "2026-02-01",
                  "tags": ["a"]}]}, "amount must be a number of dollars above 0"),
    ({"grants": [{"name": "G", "amount": 1, "start": "1 Jan", "end": "2026-02-01",
                  "tags": ["a"]}]}, "grant 'G': start must be a date YYYY-MM-DD"),
    ({"grants": [{"name": "G", "amount": 1, "start": "2026-01-01", "end": "2026-02-01",
                  "tags": []}]}, "grant 'G': tags must be a list"),
    ({"grants": [{"name": "G", "amount": 1, "start": "2026-01-01", "end": "2026-02-01",
                  "tags": ["a"], "credit": True}]}, "unknown key 'credit' (did you mean"),
])
def test_bad_configuration_is_one_clear_line(change, message):
    with pytest.raises(ConfigError) as info:
        parse_config({**GOOD, **change}, "cfg.json")
    text = str(info.value)
    assert message in text and "\n" not in text and text.startswith("cfg.json: ")


def test_environment_overrides_the_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({**GOOD, "days_back": 1}))
    config = load_config(None, {"COSTNOTIFY_CONFIG": str(path), "COSTNOTIFY_DAYS_BACK": "3",
                                "COSTNOTIFY_RECIPIENTS": "x@example.org, y@example.org"})
    assert config.days_back == 3 and config.recipients == ("x@example.org", "y@example.org")
    with pytest.raises(ConfigError, match="COSTNOTIFY_DAYS_BACK must be a whole number"):
        load_config(None, {"COSTNOTIFY_CONFIG": str(path), "COSTNOTIFY_DAYS_BACK": "x"})


def test_sending_needs_a_sender(tmp_path):
    config = parse_config({"account": SAMPLE_ACCOUNT, "recipients": ["a@example.org"]})
    with pytest.raises(ConfigError, match="sender is missing"):
        config.check_sending()


def test_yaml_configuration_when_pyyaml_is_there(tmp_path):
    pytest.importorskip("yaml")
    path = tmp_path / "c.yaml"
    path.write_text(f"account: '{SAMPLE_ACCOUNT}'\ndays_back: 2\ngrants:\n  - name: G\n"
                    "    amount: 5\n    start: 2026-01-01\n    end: 2026-12-31\n"
                    "    tags: [alice]\n")
    config = load_config(path, {})
    assert config.days_back == 2 and config.grants[0].values == ("alice",)


def test_sparkline_scales_to_the_datas_range_and_marks_missing_days():
    dollars = [86, 192, None, 139, 192]  # from $86 to $192: not flat
    line = sparkline([None if d is None else d * money.UNIT for d in dollars])
    assert line[0] == "▁" and line[1] == line[4] == "█" and line[2] == "·"
    assert line[3] in "▄▅"


# ------------------------------------------------------------------------ the wing's walls


def _imports(path) -> set[str]:
    """The costlib modules a file imports, resolved to dotted names."""
    import ast

    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            name = ".".join(filter(None, (base, node.module or "")))
            found |= {name} | {f"{name}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {n for n in found if n.startswith("costlib")}


def test_the_notify_wing_imports_the_core_never_the_contest_and_the_core_never_it():
    wing = sorted((ROOT / "costlib" / "notify").glob("*.py"))
    assert {p.stem for p in wing} >= {"config", "grants", "digest", "message", "send", "aws",
                                      "morning", "lambda_handler"}
    contest = ("costlib.contest", "costlib.grade", "costlib.sandbox")
    for path in wing:
        assert not [n for n in _imports(path) if n.startswith(contest)], path.name
    for path in (ROOT / "costlib").glob("*.py"):
        if path.name == "cli.py":  # the command dispatches to the wing, lazily
            continue
        assert not [n for n in _imports(path) if n.startswith("costlib.notify")], path.name


def test_the_image_and_the_docs_name_the_handler_that_exists():
    import importlib

    cmd = json.loads((ROOT / "deploy" / "Dockerfile").read_text().split("CMD ", 1)[1])[0]
    module, name = cmd.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module), name))
    for doc in ("README.md", "deploy/README.md", "deploy/template.yaml"):
        assert cmd in (ROOT / doc).read_text(), doc
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "costlib.notify" in packages["packages"]  # the image's non-editable install


# ------------------------------------------------------------- complete days, partial days


def march_2017(tmp_path, cut: str | None) -> str:
    """A synthetic March 2017 month file, its rows cut at the UTC instant ``cut`` (the
    file as it stands while AWS is still writing it); ``None`` is the whole month."""
    import csv

    raw = make_bill("2017-03", closed=cut is None, seed=4).decode()
    rows = list(csv.reader(io.StringIO(raw)))
    start = rows[0].index("UsageStartDate")
    kept = [rows[0]] + [r for r in rows[1:] if cut is None or (
        r[start] and r[start] < cut.replace("T", " "))]
    path = tmp_path / costlib.bill_name(SAMPLE_ACCOUNT, "2017-03").removesuffix(".zip")
    with open(path, "w", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(kept)
    return str(path)


@pytest.mark.parametrize(("cut", "partial"), [
    ("2017-03-15T03:00:00", True),    # 20:00 PDT on 14 Mar
    ("2017-03-15T07:00:00", False),   # midnight Pacific: the day is whole
    (None, False),                    # the whole month
])
def test_a_day_the_data_do_not_cover_says_partial_in_its_subject(tmp_path, cut, partial):
    result = run_cli("notify", "--bill", march_2017(tmp_path, cut), "--day", "2017-03-14",
                     "--dry-run")
    assert result.returncode == 0, result.stderr
    subject = result.stdout.splitlines()[0]
    assert subject.startswith("Subject: $") and " on Tue 14 Mar" in subject
    assert ("partial, data to 20:00" in subject) is partial, subject
    text = result.stdout
    assert ("Change from Mon 13 Mar (" in text) is not partial  # no percentage of half a day


def test_a_partial_day_is_sent_once_then_corrected_once(bucket, monkeypatch, aws_env):
    config = configure(bucket, monkeypatch)
    to = config["recipients"][0]
    first = handler(at("2026-03-20"))  # the file's data end in the afternoon of 20 March
    assert first["status"] == "partial sent"
    assert handler(at("2026-03-20"))["status"] == "waiting for data"  # one partial, not two
    (partial,) = sent_to(aws_env["AWS_ENDPOINT_URL"], to)
    import pandas as pd

    through = month_bill("2026-03").items["UsageStartDate"].max() + pd.Timedelta(hours=1)
    hour = through.tz_convert(PACIFIC).strftime("%H:%M")
    assert f", partial, data to {hour} - AWS ocean-lab" in partial["Subject"]
    # AWS writes the rest of the month; the next scheduled morning sends the final figure
    whole = io.BytesIO()
    with zipfile.ZipFile(whole, "w") as archive:
        name = costlib.bill_name(SAMPLE_ACCOUNT, "2026-03").removesuffix(".zip")
        archive.writestr(name, make_bill("2026-03", closed=False, days=22, seed=1))
    bucket.put_object(Bucket=BUCKET, Key=costlib.bill_name(SAMPLE_ACCOUNT, "2026-03"),
                      Body=whole.getvalue())
    later = handler({"time": "2026-03-22T15:00:00Z"})  # yesterday is 21 March
    assert later["status"] == "sent" and later["day"] == "2026-03-21"
    assert [c["day"] for c in later["earlier"]] == ["2026-03-20"]
    assert later["earlier"][0]["status"] == "sent"
    assert handler({"time": "2026-03-22T15:00:00Z"})["status"] == "already sent"
    messages = sent_to(aws_env["AWS_ENDPOINT_URL"], to)
    assert len(messages) == 3
    final = next(m for m in messages if "Fri 20 Mar, final" in m["Subject"])
    whole.seek(0)
    whole.name = costlib.bill_name(SAMPLE_ACCOUNT, "2026-03")
    day = costlib.spend(costlib.read(whole), TAG, start="2026-03-20", end="2026-03-21",
                        tz=PACIFIC).total_units  # the full day, now in the file
    assert final["Subject"].startswith(f"{usd(day)} on Fri 20 Mar, final (the partial "
                                       f"figure was {partial['Subject'].split()[0]})")


# ---------------------------------------------------------------------------- no lost day


def test_a_run_killed_between_claim_and_send_is_taken_over_once(bucket, monkeypatch, aws_env,
                                                                 caplog, capsys):
    """A real run in a child process claims the day, then hangs in the SES call (an endpoint
    on loopback that accepts and never answers) and is killed; the claim stays ``sending``."""
    import os
    import socket
    import subprocess
    import sys
    import time

    from costlib.notify import load_config, run

    config = configure(bucket, monkeypatch)
    markers = Markers(bucket, BUCKET, "costnotify/", SAMPLE_ACCOUNT)
    day = dt.date(2026, 3, 9)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        env = {**os.environ, "AWS_ENDPOINT_URL_SESV2": f"http://127.0.0.1:"
                                                       f"{silent.getsockname()[1]}"}
        child = subprocess.Popen([sys.executable, "-c", "from costlib.notify.lambda_handler "
                                  f"import handler; handler({at(str(day))!r})"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 300  # a bound for a stuck test, not a measurement
            while not markers.exists(day, "account") and child.poll() is None:
                assert time.monotonic() < deadline, "the child never claimed the day"
                time.sleep(0.2)
        finally:
            child.kill()
            child.wait()
    assert markers.state(day, "account")["status"] == "sending"
    assert sent_to(aws_env["AWS_ENDPOINT_URL"], config["recipients"][0]) == []
    # at once, the claim may still be alive: nothing is sent, and that run would report
    assert handler(at(str(day)))["status"] == "being sent"
    assert "DailyReport" not in capsys.readouterr().out
    # the next morning's scheduled run, past the claim timeout, takes the day over first
    later = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(minutes=16)  # noqa: E731
    settings = load_config()
    with caplog.at_level(logging.WARNING, logger="costlib.notify"):
        morning = run(settings, now=dt.datetime(2026, 3, 11, 15, tzinfo=dt.UTC), clock=later)
    assert morning.day == day + dt.timedelta(days=1) and morning.status == "sent"
    (first,) = morning.earlier
    assert first.day == day and first.status == "sent" and first.taken_over == ["account"]
    assert "took over the stale claim" in caplog.text
    again = run(settings, day=day, now=dt.datetime(2026, 3, 10, 15, tzinfo=dt.UTC), clock=later)
    assert again.status == "already sent" and again.sent == []
    to_day = [m for m in sent_to(aws_env["AWS_ENDPOINT_URL"], config["recipients"][0])
              if " on Mon 9 Mar" in m["Subject"]]
    assert len(to_day) == 1


def test_two_takeovers_of_one_stale_claim_one_wins(bucket):
    markers = Markers(bucket, BUCKET, "costnotify/", SAMPLE_ACCOUNT)
    day = dt.date(2026, 3, 3)
    assert markers.claim(day, "account", {"at": "2026-03-04T15:00:00+00:00"})
    stale = markers.state(day, "account")
    assert markers.claim(day, "account", {"by": "a"}, stale=stale) is True
    assert markers.claim(day, "account", {"by": "b"}, stale=stale) is False
    assert markers.state(day, "account")["by"] == "a"


def test_the_stale_claim_metric_and_its_alarm(bucket, monkeypatch, aws_env, capsys):
    configure(bucket, monkeypatch)
    markers = Markers(bucket, BUCKET, "costnotify/", SAMPLE_ACCOUNT)
    markers.claim(dt.date(2026, 3, 2), "account", {"at": "2026-03-03T15:00:00+00:00"})
    result = handler(at("2026-03-02"))
    assert result["status"] == "sent" and result["taken_over"] == ["account"]
    out = capsys.readouterr().out
    assert '"StaleClaims": 1' in out and '"DailyReport": 1' in out
    template = (ROOT / "deploy" / "template.yaml").read_text()
    assert "MetricName: StaleClaims" in template


# --------------------------------------------------------------------- grants and their dates


@pytest.mark.parametrize(("start", "end", "gets_email"), [
    ("2026-01-01", "2026-02-20", False),   # ended 20 days ago, past the 14-day grace
    ("2026-01-01", "2026-03-01", True),    # ended 11 days ago: still inside the grace
    ("2026-04-01", "2026-09-30", False),   # not started
    ("2026-03-01", "2026-09-30", True),
])
def test_a_grantee_hears_only_within_the_grants_dates_and_grace(bucket, monkeypatch, aws_env,
                                                                  start, end, gets_email):
    grantee = f"g-{uuid.uuid4().hex[:6]}@example.org"
    configure(bucket, monkeypatch, grants=[{"name": "G", "amount": 500, "start": start,
                                            "end": end, "tags": ["alice"],
                                            "recipients": [grantee]}])
    result = handler(at("2026-03-12"))
    assert ("grant:G" in result["sent"]) is gets_email
    assert len(sent_to(aws_env["AWS_ENDPOINT_URL"], grantee)) == int(gets_email)


# ------------------------------------------------------------------------ smaller defects


def test_the_boto3_floor_has_conditional_puts():
    """The markers need ``IfNoneMatch`` on put_object: boto3/botocore 1.35.2 (20 Aug 2024,
    boto3's .changes/1.35.2.json: "Add support for conditional writes for PutObject")."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (floor,) = [d.split(">=")[1].split(",")[0] for d in deps if d.startswith("boto3")]
    assert tuple(map(int, floor.split("."))) >= (1, 35, 2)
    import botocore.session

    model = botocore.session.get_session().get_service_model("s3")
    assert "IfNoneMatch" in model.operation_model("PutObject").input_shape.members


def digest_of(bill, day: str, tz: str = PACIFIC, **config):
    from costlib.notify.digest import LocalSource, gather

    settings = parse_config({"account": SAMPLE_ACCOUNT, "name": ACCOUNT_NAME, "tag": TAG,
                             "tz": tz, **config})
    return gather(settings, dt.date.fromisoformat(day), LocalSource(bill),
                  now=dt.datetime(2026, 3, 25, tzinfo=dt.UTC))


def test_east_of_utc_the_first_of_the_month_has_an_amount_without_last_months_file():
    from costlib.notify.message import compose

    bill = month_bill("2026-03")  # February's file is not given
    message = compose(digest_of(bill, "2026-03-01", tz="Asia/Tokyo"))
    here = costlib.spend(bill, TAG, start="2026-03-01", end="2026-03-02", tz="Asia/Tokyo")
    assert message.subject.startswith(f"{money.usd(here.total)} on Sun 1 Mar, without the "
                                      "2026-02 file - AWS ocean-lab")
    assert "n/a" not in message.subject


def test_users_are_ranked_by_the_reported_day_and_one_folded_user_is_one_user():
    from costlib.notify.message import compose

    bill = month_bill("2026-03")
    whole = costlib.spend(bill, TAG, start="2026-03-02", end="2026-03-03", tz=PACIFIC)
    tagged = [u for u in whole.users if u != costlib.UNTAGGED]
    text = compose(digest_of(bill, "2026-03-02", top=len(tagged) - 1)).text
    table = text.split("Spend per user", 1)[1].split("\n\n", 1)[0].splitlines()[3:]
    shown = [line for line in table if not line.strip().startswith(("other", "untagged",
                                                                     "total"))]
    on_day = [float(line.split()[-2].lstrip("$").replace(",", "")) for line in shown]
    assert on_day == sorted(on_day, reverse=True)
    assert any("other (1 user) " in line for line in table)


def test_the_zone_reads_as_people_say_it_and_the_mean_says_its_days():
    from costlib.notify.message import compose

    text = compose(digest_of(month_bill("2026-03"), "2026-03-02")).text
    assert "(Pacific day)" in text and "America/Los_Angeles day" not in text
    assert "in Pacific days" in text
    # 2 March: only two days of the 28 have data (February's file is not given)
    assert "mean" in text and "over the 2 days with data" in text


def test_a_tag_value_with_a_line_break_stays_on_its_row():
    from conftest import tiny_bill
    from costlib.notify.message import compose

    bill = tiny_bill([("2026-03-02 18:00:00", "2026-03-02 19:00:00", "5.00", "eve\nmallory"),
                      ("2026-03-02 18:00:00", "2026-03-02 19:00:00", "3.00", "bob")])
    text = compose(digest_of(bill, "2026-03-02", tag="user:Owner")).text
    table = text.split("Spend per user", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    assert all(line.startswith("  ") for line in table), table
    assert any(line.split()[:2] == ["eve", "mallory"] for line in table)


# ------------------------------------------------------------------------ unusual spend


def spiky_bill(spikes: dict[tuple[int, str], str], noisy: bool = False):
    """March 2026, made up: alice $50 a day, bob $10 a day (noisy: alternating $2/$18),
    carol 40 cents a day, all EC2, one row per user and day at 18:00 UTC; ``spikes`` set
    ``(day of month, user)`` to another amount."""
    from conftest import tiny_bill

    rows = []
    for day in range(1, 32):
        for user, usual in (("alice", "50.00"), ("bob", "10.00"), ("carol", "0.40")):
            if noisy and user == "bob":
                usual = "2.00" if day % 2 else "18.00"
            cost = spikes.get((day, user), usual)
            rows.append((f"2026-03-{day:02d} 18:00:00", f"2026-03-{day:02d} 19:00:00", cost,
                         user))
    return tiny_bill(rows)


@pytest.mark.parametrize(("spikes", "noisy", "flagged"), [
    ({(31, "bob"): "150.00"}, False, ["bob +$140"]),
    ({(31, "bob"): "28.00"}, False, []),              # +$18: under the $20 floor
    ({(31, "carol"): "19.00"}, False, []),            # 47 times its usual, but +$18.60
    ({(31, "bob"): "40.00"}, True, []),               # +$30 on a bob who swings $16 a day
    ({(31, "bob"): "90.00"}, True, ["bob +$80"]),     # beyond his own swings
    ({(31, "alice"): "95.00", (31, "bob"): "150.00"}, False, ["bob +$140", "alice +$45"]),
    ({(30, "bob"): "150.00"}, False, []),             # yesterday's spike is not today's
])
def test_a_day_far_above_its_own_last_28_days_is_unusual(spikes, noisy, flagged):
    from costlib.notify.message import compose

    message = compose(digest_of(spiky_bill(spikes, noisy), "2026-03-31", tag="user:Owner"))
    named = (message.subject.split(", unusual: ", 1)[1].split(" - AWS")[0].split(", ")
             if ", unusual: " in message.subject else [])
    assert named == flagged, message.subject
    assert message.subject.startswith("$")  # the amount first, always
    if flagged:
        assert "Unusual today" in message.text and "user bob: " in message.text
        # the service is flagged too (all of it is EC2), in the body: users lead the subject
        assert "service Amazon Elastic Compute Cloud: " in message.text
    else:
        assert "Unusual today" not in message.text


def test_the_unusual_rule_in_numbers():
    from statistics import median

    from costlib.notify.unusual import is_unusual, margin

    unit = money.UNIT
    steady = [10 * unit] * 28
    assert margin(steady, 20 * unit) == 20 * unit  # no spread: the floor
    swings = [2 * unit, 18 * unit] * 14
    deviations = [abs(v - median(swings)) for v in swings]
    assert margin(swings, 20 * unit) == int(4 * 1.4826 * median(deviations))
    assert not is_unusual(1000 * unit, steady[:6], 20 * unit)  # too few days to judge


# -------------------------------------------------------------------- the webhook channel


class Hook:
    """A Slack-compatible incoming webhook on loopback (http.server in a thread): it answers
    each POST with the next status of ``answers`` (then 200) and keeps every body."""

    def __init__(self, answers=()):
        import http.server
        import threading

        hook = self
        self.answers, self.bodies = list(answers), []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the http.server name)
                length = int(self.headers["Content-Length"])
                hook.bodies.append((self.headers["Content-Type"],
                                    json.loads(self.rfile.read(length))))
                status = hook.answers.pop(0) if hook.answers else 200
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"no")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0/B0/x"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    made = []

    def make(answers=()):
        made.append(Hook(answers))
        return made[-1]

    yield make
    for h in made:
        h.close()


def test_the_webhook_gets_the_top_lines_once_after_a_retry(bucket, monkeypatch, aws_env, hook):
    server = hook([503])  # the first attempt is turned away, the second lands
    configure(bucket, monkeypatch, webhook_url=server.url)
    result = handler(at("2026-03-12"))
    assert sorted(result["sent"]) == ["account", "webhook"]
    assert len(server.bodies) == 2 and server.bodies[0] == server.bodies[1]
    content_type, payload = server.bodies[-1]
    assert content_type.startswith("application/json")
    lines = payload["text"].splitlines()
    assert lines[0] == result["subjects"][0].replace("<", "&lt;").replace(">", "&gt;")
    assert lines[1].startswith("AWS ocean-lab (012345678901): ")
    assert any(set(line.split()[0]) <= set("▁▂▃▄▅▆▇█·") for line in lines)
    assert "http" not in payload["text"] and "<" not in payload["text"]
    assert handler(at("2026-03-12"))["status"] == "already sent"
    assert len(server.bodies) == 2  # the marker holds for the webhook too
    assert Markers(bucket, BUCKET, "costnotify/", SAMPLE_ACCOUNT).state(
        dt.date(2026, 3, 12), "webhook")["status"] == "sent"


@pytest.mark.parametrize(("answers", "attempts"), [([500, 500, 500], 3), ([404], 1)])
def test_a_webhook_that_keeps_refusing_fails_and_a_later_run_sends_it(
        bucket, monkeypatch, aws_env, hook, capsys, answers, attempts):
    server = hook(answers)
    configure(bucket, monkeypatch, webhook_url=server.url)
    failed = handler(at("2026-03-13"))
    assert failed["status"] == "failed" and failed["sent"] == ["account"]
    assert f"attempt {attempts} of 3" in failed["errors"][0]
    assert len(server.bodies) == attempts  # a 404 is not tried again
    assert '"Failures": 1' in capsys.readouterr().out
    again = handler(at("2026-03-13"))  # the claim was released; the account stays sent
    assert again["sent"] == ["webhook"] and again["already_sent"] == ["account"]
    assert len(server.bodies) == attempts + 1


def test_a_webhook_url_is_checked_and_may_come_from_the_environment(tmp_path):
    with pytest.raises(ConfigError, match="webhook_url must be an http"):
        parse_config({**GOOD, "webhook_url": "hooks.example.org/x"}, "cfg.json")
    path = tmp_path / "c.json"
    path.write_text(json.dumps(GOOD))
    config = load_config(None, {"COSTNOTIFY_CONFIG": str(path),
                                "COSTNOTIFY_WEBHOOK_URL": "https://hooks.example.org/T/B/x"})
    assert config.webhook_url == "https://hooks.example.org/T/B/x"


@pytest.mark.parametrize(("month", "day", "cut", "partial"), [
    ("2026-03", "2026-03-08", "2026-03-09 06:00:00", True),    # 23-hour day: ends 07:00 UTC
    ("2026-03", "2026-03-08", "2026-03-09 07:00:00", False),
    ("2026-11", "2026-11-01", "2026-11-02 07:00:00", True),    # 25-hour day: ends 08:00 UTC
    ("2026-11", "2026-11-01", "2026-11-02 08:00:00", False),
])
def test_dst_days_are_complete_when_their_23_or_25_hours_are_in(month, day, cut, partial):
    import csv

    from costlib.notify.message import subject

    raw = make_bill(month, closed=False, days=10, seed=2).decode()
    rows = list(csv.reader(io.StringIO(raw)))
    start = rows[0].index("UsageStartDate")
    kept = [rows[0]] + [r for r in rows[1:] if r[start] and r[start] < cut]
    data = io.StringIO()
    csv.writer(data, lineterminator="\n").writerows(kept)
    buffer = io.BytesIO(data.getvalue().encode())
    buffer.name = costlib.bill_name(SAMPLE_ACCOUNT, month).removesuffix(".zip")
    digest = digest_of(costlib.read(buffer), day)
    assert digest.complete is not partial
    assert (", partial, data to " in subject(digest)) is partial


def test_the_example_configuration_loads():
    config = load_config(ROOT / "deploy" / "costnotify.example.json", {})
    assert config.claim_timeout_minutes == 15 and config.unusual_floor == 20
    assert config.grants[0].recipients == ("alice@example.org",)


def test_a_grantees_email_about_a_partial_day_says_so_too(tmp_path):
    path = march_2017(tmp_path, "2017-03-15T03:00:00")
    config = tmp_path / "c.json"
    config.write_text(json.dumps({
        "account": SAMPLE_ACCOUNT, "tag": TAG, "grants": [{
            "name": "Argo", "amount": 900, "start": "2017-01-01", "end": "2017-12-31",
            "tags": ["chen.wei"], "recipients": ["chen@example.org"]}]}))
    result = run_cli("notify", "--bill", path, "--day", "2017-03-14", "--dry-run",
                     "--config", str(config))
    assert result.returncode == 0, result.stderr
    subjects = [line for line in result.stdout.splitlines() if line.startswith("Subject: ")]
    assert len(subjects) == 2
    assert all(", partial, data to 20:00" in s for s in subjects), subjects


def put_march_cut_at(s3, cut: str) -> None:
    """March 2026 in the bucket as AWS has written it by the UTC instant ``cut``."""
    import csv

    raw = make_bill("2026-03", closed=False, days=20, seed=1).decode()
    rows = list(csv.reader(io.StringIO(raw)))
    start = rows[0].index("UsageStartDate")
    kept = [rows[0]] + [r for r in rows[1:] if r[start] and r[start] < cut]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(kept)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(costlib.bill_name(SAMPLE_ACCOUNT, "2026-03").removesuffix(".zip"),
                         text.getvalue())
    s3.put_object(Bucket=BUCKET, Key=costlib.bill_name(SAMPLE_ACCOUNT, "2026-03"),
                  Body=buffer.getvalue())


def test_the_schedule_never_sends_a_partial_day_and_never_loses_one(bucket, monkeypatch,
                                                                    aws_env):
    """The issue's morning: the file lags by hours, so at 08:00 PDT on 15 March it ends at
    20:00 PDT on the 14th. The schedule sends the 13th (the last whole day), and the 14th,
    whole, the morning after, once each."""
    config = configure(bucket, monkeypatch)
    to = config["recipients"][0]
    handler({"time": "2026-03-14T15:00:00Z", "day": "2026-03-12"})  # sent before
    put_march_cut_at(bucket, "2026-03-15 03:00:00")  # 20:00 PDT on the 14th
    morning = handler({"time": "2026-03-15T15:00:00Z"})
    assert morning["day"] == "2026-03-14" and morning["status"] == "waiting for data"
    assert [(e["day"], e["status"]) for e in morning["earlier"]] == [("2026-03-13", "sent")]
    put_march_cut_at(bucket, "2026-03-16 03:00:00")  # a day later, the same lag
    next_morning = handler({"time": "2026-03-16T15:00:00Z"})
    assert [(e["day"], e["status"]) for e in next_morning["earlier"]] == [
        ("2026-03-14", "sent")]
    subjects = [m["Subject"] for m in sent_to(aws_env["AWS_ENDPOINT_URL"], to)]
    days = [s.split(" - ")[0].split(" on ")[1].split(",")[0] for s in subjects]
    assert days == ["Thu 12 Mar", "Fri 13 Mar", "Sat 14 Mar"]  # each once, in order
    assert not any("partial" in s for s in subjects)


def test_the_schedule_runs_on_pacific_time():
    """EventBridge Scheduler takes a zone: 08:00 in Los Angeles all year, not a UTC hour
    that moves with daylight saving time."""
    template = (ROOT / "deploy" / "template.yaml").read_text()
    assert "ScheduleExpressionTimezone: !Ref ScheduleTimezone" in template
    zone = template.split("\n  ScheduleTimezone:", 1)[1].split("\n  Memory", 1)[0]
    assert "Default: America/Los_Angeles" in zone
    schedule = template.split("\n  Schedule:", 1)[1].split("\n  ScheduleTimezone", 1)[0]
    assert "Default: cron(0 8 * * ? *)" in schedule
