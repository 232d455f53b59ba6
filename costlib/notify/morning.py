"""The costnotify morning email: yesterday's burn, spend per user and service, the last 28
days, month to date and grant pacing, sent at most once per account and reported day.

    >>> import io
    >>> from costlib.notify.config import demo_config
    >>> outcome = run(demo_config(), dry_run=True, bill=demo_bill(), out=io.StringIO())
    >>> outcome.status
    'dry run'

:func:`run` does the whole morning; the Lambda (:mod:`costlib.notify.lambda_handler`) and
``costlib notify`` only call it. Its steps live apart: the numbers in :mod:`costlib.notify.digest`
(the month files, read once each, summed per day, user and service; closed months from the
grant cache), the email's text and HTML in :mod:`costlib.notify.message`, sending and the sent
markers in :mod:`costlib.notify.send`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field, replace
from typing import IO

from ..errors import OptionError
from ..reading import Bill, read
from ..timezones import local_time
from .aws import NotifyError
from .config import Config, ConfigError, demo_config, load_config
from .digest import BucketSource, LocalSource, demo_bill, fingerprint, gather
from .grants import SummaryCache
from .message import Email, compose, compose_grant, compose_missing, day_label, time_label
from .send import Markers, send

log = logging.getLogger("costlib.notify")

METRIC_NAMESPACE = "costnotify"


# ------------------------------------------------------------------------------- the morning


@dataclass
class Outcome:
    """What one run did: ``status`` is ``sent``, ``already sent``, ``waiting for data``,
    ``data missing sent``, ``dry run`` or ``failed`` (``errors`` says why)."""

    day: dt.date
    status: str
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The Lambda's return value."""
        return {"day": self.day.isoformat(), "status": self.status, "sent": self.sent,
                "already_sent": self.skipped, "read": self.read, "errors": self.errors,
                "subjects": self.subjects}


def report_day(config: Config, now: dt.datetime | None = None) -> dt.date:
    """Today in the configured zone, ``days_back`` days ago."""
    today = local_time(now or dt.datetime.now(dt.UTC), config.tz).date()
    return today - dt.timedelta(days=config.days_back)


def run(config: Config, *, day: dt.date | str | None = None, now: dt.datetime | None = None,
        dry_run: bool = False, bill: str | os.PathLike | IO | Bill | None = None,
        out: IO[str] | None = None) -> Outcome:
    """The morning: pick the day, skip what was sent, read, compose, send (or print), record.

    With ``bill`` the data come from that file (no bucket, no markers, no cache) and the day
    defaults to the last full day in it; otherwise from the configured bucket, the day being
    ``days_back`` days before today in the configured zone.
    """
    out = out or sys.stdout
    now = now or dt.datetime.now(dt.UTC)
    source = LocalSource(bill) if bill is not None else BucketSource(
        config.bucket, config.account, config.prefix)
    if day is None:
        day = source.last_full_day(config.tz) if bill is not None else report_day(config, now)
    elif isinstance(day, str):
        day = _parse_day(day)
    audiences = _audiences(config, dry_run)
    outcome = Outcome(day=day, status="dry run" if dry_run else "sent")
    markers = None
    if bill is None and not dry_run:
        markers = Markers(source.s3, config.bucket, config.state_prefix, config.account)
        outcome.skipped = [a for a in audiences if markers.exists(day, a)]
        audiences = [a for a in audiences if a not in outcome.skipped]
        if not audiences:
            outcome.status = "already sent"
            log.info("%s: already sent for %s (markers in s3://%s/%s)", config.account, day,
                     config.bucket, markers.key(day, "account"))
            return outcome
    cache = None
    if bill is None:
        cache = SummaryCache(source.s3, config.bucket,
                             f"{config.state_prefix}cache/{config.account}.json",
                             fingerprint(config), writable=not dry_run).load()
    digest = gather(config, day, source, cache=cache, now=now)
    outcome.read = digest.read
    if digest.has_data:
        emails = [compose(digest) if a == "account" else compose_grant(
            digest, next(s for s in digest.grants if f"grant:{s.grant.name}" == a))
            for a in audiences]
    else:
        last = digest.last_data_day
        gap = (day - last).days if last is not None else None
        newest = time_label(digest.data_through, config.tz)
        if gap is not None and gap < config.missing_after_days:
            log.warning("%s: no data for %s yet (newest data: %s); no email until it arrives "
                        "or it is %d days late", config.account, day, newest,
                        config.missing_after_days)
            outcome.status = "waiting for data"
            if dry_run:
                print(f"No email: no data for {day_label(day, True)} yet (newest data: "
                      f"{newest}).", file=out)
            return outcome
        log.warning("%s: no data for %s (newest data: %s): sending the data-missing email",
                    config.account, day, newest)
        emails = [compose_missing(digest)] if "account" in audiences else []
        outcome.status = "dry run" if dry_run else "data missing sent"
    for i, email in enumerate(emails):
        outcome.subjects.append(email.subject)
        if dry_run:
            print(("\n" + "=" * 72 + "\n\n" if i else "") + email.preview(config.sender),
                  end="", file=out)
            continue
        _deliver(email, config, day, markers, outcome)
    if outcome.errors:
        outcome.status = "failed"
    elif not dry_run and not outcome.sent:
        outcome.status = "already sent"  # every claim was lost to a concurrent run
    return outcome


def _audiences(config: Config, dry_run: bool) -> list[str]:
    sns = config.transport == "sns"
    audiences = ["account"] if (dry_run or (config.sns_topic_arn if sns else config.recipients)
                                ) else []
    return audiences + [f"grant:{g.name}" for g in config.grants
                        if (g.sns_topic_arn if sns else g.recipients)]


def _deliver(email: Email, config: Config, day: dt.date, markers: Markers | None,
             outcome: Outcome) -> None:
    info = {"account": config.account, "day": day.isoformat(), "audience": email.audience,
            "kind": email.kind, "subject": email.subject, "to": list(email.to),
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    if markers is not None and not markers.claim(day, email.audience, info):
        log.info("%s: %s email for %s already claimed by another run", config.account,
                 email.audience, day)
        outcome.skipped.append(email.audience)
        return
    try:
        message_id = send(email, config)
    except NotifyError as err:
        log.error("%s: %s email for %s not sent: %s", config.account, email.audience, day, err)
        outcome.errors.append(str(err))
        if markers is not None:
            _quietly(markers.release, day, email.audience)
        return
    if markers is not None:
        _quietly(markers.done, day, email.audience, {**info, "message_id": message_id})
    log.info("%s: sent %r to %s (%s)", config.account, email.subject,
             ", ".join(email.to) or email.topic, message_id)
    outcome.sent.append(email.audience)


def _quietly(update, *args) -> None:
    """Update a marker after the send; a refusal is logged (the claim already holds)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        update(*args)
    except (BotoCoreError, ClientError) as err:
        log.warning("sent marker not updated (%s): %s", update.__name__, err)


def _parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise OptionError(f"not a day: {text!r} (use YYYY-MM-DD)") from None


def metric_line(name: str, value: float, account: str) -> str:
    """A CloudWatch embedded-metric log line (``costnotify/<name>``, by account): printed by
    the Lambda, turned into a metric by CloudWatch Logs with no API call."""
    return json.dumps({
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
            "Namespace": METRIC_NAMESPACE, "Dimensions": [["Account"]],
            "Metrics": [{"Name": name, "Unit": "Count"}]}]},
        "Account": account, name: value})


# -------------------------------------------------------------------------------- the command


def cli_main(args: argparse.Namespace) -> int:
    """``costlib notify``: with no ``--config`` the demo configuration, with no ``--bill`` and
    no ``--config`` the bundled sample; ``--dry-run`` prints instead of sending."""
    if args.config is None and not args.dry_run:
        raise ConfigError("costlib notify sends email only with --config FILE (or use "
                          "--dry-run to print it)")
    config = load_config(args.config) if args.config else demo_config()
    if not args.dry_run:
        config.check_sending(args.config)
    bill = read(args.bill) if args.bill else None
    if args.config is None:
        bill = bill or read(demo_bill())
        if bill.account and bill.account != config.account:  # not the sample: no demo grants
            config = replace(config, account=bill.account, name="", grants=())
    day = _parse_day(args.day) if args.day else None
    outcome = run(config, day=day, dry_run=args.dry_run, bill=bill)
    if not args.dry_run:
        for subject in outcome.subjects:
            print(f"{outcome.status}: {subject}")
        if outcome.status in ("already sent", "waiting for data"):
            print(f"{outcome.status}: {outcome.day}")
        for error in outcome.errors:
            print(f"costlib: error: {error}", file=sys.stderr)
    return 1 if outcome.errors else 0


__all__ = ["Outcome", "cli_main", "metric_line", "report_day", "run"]
