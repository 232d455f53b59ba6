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
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import IO

from ..errors import OptionError
from ..reading import Bill, read
from ..timezones import local_time
from .aws import NotifyError
from .config import Config, ConfigError, demo_config, load_config
from .digest import DAY, BucketSource, LocalSource, demo_bill, fingerprint, gather
from .grants import SummaryCache
from .message import (
    WEBHOOK,
    Email,
    compose,
    compose_grant,
    compose_missing,
    compose_webhook,
    day_label,
    time_label,
)
from .send import Markers, is_stale, send

log = logging.getLogger("costlib.notify")

METRIC_NAMESPACE = "costnotify"


# ------------------------------------------------------------------------------- the morning


#: A partial day's final figure, or a day whose run died after claiming it, is sent by a
#: scheduled run up to this many days later.
CORRECTION_DAYS = 7


@dataclass
class Outcome:
    """What one run did for one day: ``status`` is ``sent``, ``partial sent`` (the day's data
    is not complete: the final figure follows), ``already sent``, ``being sent`` (another run
    holds a fresh claim), ``waiting for data``, ``data missing sent``, ``dry run`` or
    ``failed`` (``errors`` says why). ``taken_over``: audiences whose stale claim this run took
    over; ``earlier``: the earlier days a scheduled run finished first (a partial day's final
    figure, a day whose claim went stale, a day the data did not cover on its morning)."""

    day: dt.date
    status: str
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    taken_over: list[str] = field(default_factory=list)
    earlier: list[Outcome] = field(default_factory=list)
    incomplete: bool = False  #: the day has data, not yet to its end

    def as_dict(self) -> dict:
        """The Lambda's return value."""
        return {"day": self.day.isoformat(), "status": self.status, "sent": self.sent,
                "already_sent": self.skipped, "read": self.read, "errors": self.errors,
                "subjects": self.subjects, "taken_over": self.taken_over,
                "earlier": [c.as_dict() for c in self.earlier]}

    def every(self) -> list[Outcome]:
        """The earlier days' outcomes and this day's."""
        return [*self.earlier, self]


def report_day(config: Config, now: dt.datetime | None = None) -> dt.date:
    """Today in the configured zone, ``days_back`` days ago."""
    today = local_time(now or dt.datetime.now(dt.UTC), config.tz).date()
    return today - dt.timedelta(days=config.days_back)


def _wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class _Run:
    """What the days of one run share: where the data and the markers are, the clocks."""

    config: Config
    source: BucketSource | LocalSource
    now: dt.datetime
    clock: Callable[[], dt.datetime]
    dry_run: bool
    out: IO[str]
    markers: Markers | None = None
    cache: SummaryCache | None = None


def run(config: Config, *, day: dt.date | str | None = None, now: dt.datetime | None = None,
        dry_run: bool = False, bill: str | os.PathLike | IO | Bill | None = None,
        out: IO[str] | None = None, clock: Callable[[], dt.datetime] | None = None) -> Outcome:
    """The morning: pick the day, skip what was sent, read, compose, send (or print), record.

    With ``bill`` the data come from that file (no bucket, no markers, no cache) and the day
    defaults to the last full day in it; otherwise from the configured bucket, the day being
    ``days_back`` days before today in the configured zone, sent only once the data cover it
    to its end (complete days only: until then the day before, if unsent, goes instead). A day
    asked for (``day``) the data do not cover is sent as partial (it says so) and stays open.
    A scheduled run first finishes the last week's open days: a partial day's final figure,
    a day whose claim went stale, a day skipped because its data came late.
    ``now`` is the run's "today" (the event's time); ``clock`` the wall clock that claims are
    timed with.
    """
    now = now or dt.datetime.now(dt.UTC)
    source = LocalSource(bill) if bill is not None else BucketSource(
        config.bucket, config.account, config.prefix)
    scheduled = day is None
    if day is None:
        day = source.last_full_day(config.tz) if bill is not None else report_day(config, now)
    elif isinstance(day, str):
        day = _parse_day(day)
    state = _Run(config, source, now, clock or _wall_clock, dry_run, out or sys.stdout)
    if bill is None:
        if not dry_run:
            state.markers = Markers(source.s3, config.bucket, config.state_prefix,
                                    config.account)
        state.cache = SummaryCache(source.s3, config.bucket,
                                   f"{config.state_prefix}cache/{config.account}.json",
                                   fingerprint(config), writable=not dry_run).load()
    earlier: list[Outcome] = []
    if state.markers is not None and scheduled:
        timeout = dt.timedelta(minutes=config.claim_timeout_minutes)
        earlier = [_run_day(state, d, told=False) for d in state.markers.pending(
            day, CORRECTION_DAYS, state.clock(), timeout)]
    outcome = _run_day(state, day, told=not scheduled)
    if outcome.incomplete and not any(o.day == day - DAY for o in earlier):
        log.info("%s: %s is not complete yet: reporting %s, the last whole day; %s follows "
                 "when its data are in", config.account, day, day - DAY, day)
        earlier.append(_run_day(state, day - DAY, told=False))
    outcome.earlier = earlier
    return outcome


def _run_day(state: _Run, day: dt.date, told: bool) -> Outcome:
    """One day: a day not ``told`` (chosen by the schedule) is sent only when the data cover
    it to its end; a day asked for is sent whatever the data, marked partial if need be."""
    config, markers, dry_run, out = state.config, state.markers, state.dry_run, state.out
    audiences = _audiences(config, dry_run, day)
    outcome = Outcome(day=day, status="dry run" if dry_run else "sent")
    stale: dict[str, dict | None] = {a: None for a in audiences}
    if markers is not None:
        todo, busy = _unclaimed(state, day, audiences, "", stale, outcome)
        if not todo:
            outcome.status = "being sent" if busy else "already sent"
            log.info("%s: %s for %s (markers in s3://%s/%s)", config.account, outcome.status,
                     day, config.bucket, markers.key(day, "account"))
            return outcome
        audiences = todo
    digest = gather(config, day, state.source, cache=state.cache, now=state.now)
    outcome.read = digest.read
    stage = ""
    if digest.has_data and not digest.complete and not told:
        outcome.status, outcome.incomplete = "waiting for data", True
        through = time_label(digest.data_through, config.tz)
        log.info("%s: %s is not complete (data through %s): complete days only",
                 config.account, day, through)
        if dry_run:
            print(f"No email for {day_label(day, True)}: not complete yet (data through "
                  f"{through}).", file=out)
        return outcome
    if digest.has_data:
        was = None
        if digest.complete and markers is not None:
            partial = next(filter(None, (markers.state(day, a, "partial") for a in audiences
                                         if a in ("account", WEBHOOK))), None)
            was = partial.get("subject", "").split(" ")[0] if partial else None
        elif not digest.complete and markers is not None:
            stage = "partial"
            stale = {a: None for a in audiences}
            audiences, _ = _unclaimed(state, day, audiences, stage, stale, outcome)
            if not audiences:
                outcome.status = "waiting for data"
                log.info("%s: %s is still partial; its partial email went out, the final "
                         "figure follows when the data are complete", config.account, day)
                return outcome
        emails = [_compose(digest, a, was) for a in audiences]
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
        emails = [compose_missing(digest) if a == "account" else compose_webhook(digest)
                  for a in audiences if a in ("account", WEBHOOK)]
        outcome.status = "dry run" if dry_run else "data missing sent"
    for i, email in enumerate(emails):
        outcome.subjects.append(email.subject)
        if dry_run:
            print(("\n" + "=" * 72 + "\n\n" if i else "") + email.preview(config.sender),
                  end="", file=out)
            continue
        _deliver(email, state, day, stage, stale.get(email.audience), outcome)
    if outcome.errors:
        outcome.status = "failed"
    elif not dry_run and not outcome.sent:
        outcome.status = "being sent"  # every claim was lost to a concurrent run
    elif stage == "partial":
        outcome.status = "partial sent"
    return outcome


def _compose(digest, audience: str, was: str | None) -> Email:
    if audience == "account":
        return compose(digest, was=was)
    if audience == WEBHOOK:
        return compose_webhook(digest, was=was)
    return compose_grant(digest, next(s for s in digest.grants
                                      if f"grant:{s.grant.name}" == audience))


def _unclaimed(state: _Run, day: dt.date, audiences: list[str], stage: str,
               stale: dict[str, dict | None], outcome: Outcome) -> tuple[list[str], bool]:
    """The audiences with no marker for ``day`` and ``stage`` or a stale one (kept in
    ``stale``); the others join ``outcome.skipped``. Also says whether a live claim was seen."""
    timeout = dt.timedelta(minutes=state.config.claim_timeout_minutes)
    todo, busy = [], False
    for audience in audiences:
        marker = state.markers.state(day, audience, stage)
        if marker is None or is_stale(marker, state.clock(), timeout):
            stale[audience] = marker
            todo.append(audience)
        else:
            busy = busy or marker.get("status") == "sending"
            if not stage:
                outcome.skipped.append(audience)
    return todo, busy


def _audiences(config: Config, dry_run: bool, day: dt.date) -> list[str]:
    """The account (when it has recipients), the webhook (when there is one) and each grant
    with recipients whose dates (plus the grace after its end) hold ``day``."""
    sns = config.transport == "sns"
    audiences = ["account"] if (dry_run or (config.sns_topic_arn if sns else config.recipients)
                                ) else []
    audiences += [WEBHOOK] if config.webhook_url else []
    grace = dt.timedelta(days=config.grant_grace_days)
    return audiences + [f"grant:{g.name}" for g in config.grants
                        if (g.sns_topic_arn if sns else g.recipients)
                        and g.start <= day <= g.end + grace]


def _deliver(email: Email, state: _Run, day: dt.date, stage: str, stale: dict | None,
             outcome: Outcome) -> None:
    config, markers = state.config, state.markers
    info = {"account": config.account, "day": day.isoformat(), "audience": email.audience,
            "kind": email.kind, "subject": email.subject, "to": list(email.to),
            "at": state.clock().isoformat(timespec="seconds")}
    if markers is not None:
        if not markers.claim(day, email.audience, info, stage, stale):
            log.info("%s: %s email for %s already claimed by another run", config.account,
                     email.audience, day)
            outcome.skipped.append(email.audience)
            return
        if stale is not None:
            log.warning("%s: took over the stale claim of the %s email for %s (claimed %s, "
                        "never sent: its run died)", config.account, email.audience, day,
                        stale.get("at"))
            outcome.taken_over.append(email.audience)
    try:
        message_id = send(email, config)
    except NotifyError as err:
        log.error("%s: %s email for %s not sent: %s", config.account, email.audience, day, err)
        outcome.errors.append(str(err))
        if markers is not None:
            _quietly(markers.release, day, email.audience, stage)
        return
    if markers is not None:
        _quietly(markers.done, day, email.audience, {**info, "message_id": message_id}, stage)
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
        if outcome.status in ("already sent", "being sent", "waiting for data"):
            print(f"{outcome.status}: {outcome.day}")
        for error in outcome.errors:
            print(f"costlib: error: {error}", file=sys.stderr)
    return 1 if outcome.errors else 0


__all__ = ["Outcome", "cli_main", "metric_line", "report_day", "run"]
