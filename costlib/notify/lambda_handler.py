"""The AWS Lambda entry point (``costlib.notify.lambda_handler.handler``): a thin shell over
:func:`costlib.notify.morning.run`.

The configuration comes from ``COSTNOTIFY_CONFIG`` (a path in the package or ``s3://``) and
``COSTNOTIFY_*`` variables. The event is the EventBridge schedule's (its ``time`` is "now"), or
a manual one: ``{"day": "2026-02-14"}`` reports that day, ``{"dry_run": true}`` only logs.

A run that reports its day (sent, partial sent, already sent, waiting for late data,
data-missing email) prints the ``DailyReport`` metric (not a run that finds another one
sending: that one reports); a run that takes over a stale claim prints ``StaleClaims``; a
failure (bucket unreadable, SES refusal) logs one line,
prints the ``Failures`` metric and returns without raising, so Lambda does not retry into the
same wall. A bad configuration raises: the function's Errors alarm fires. The alarm on a missing
``DailyReport`` catches everything else (the schedule disabled, a timeout, out of memory).
"""

from __future__ import annotations

import io
import logging
import os
import sys

import pandas as pd

from ..errors import CostlibError
from .config import ConfigError, load_config
from .morning import metric_line, run

log = logging.getLogger("costlib.notify")


def handler(event: dict | None, context=None) -> dict:
    """Run the morning email for the configured account; return what was done."""
    logging.getLogger("costlib").setLevel(logging.INFO)
    event = event or {}
    try:
        config = load_config()
        if not event.get("dry_run"):
            config.check_sending(os.environ.get("COSTNOTIFY_CONFIG") or "environment")
    except ConfigError as err:
        log.error("costnotify: bad configuration: %s", err)
        raise
    account = config.account
    try:
        now = pd.Timestamp(event["time"]).to_pydatetime() if event.get("time") else None
        dry_run = bool(event.get("dry_run"))
        out = io.StringIO()
        outcome = run(config, day=event.get("day"), now=now, dry_run=dry_run, out=out)
    except (CostlibError, ValueError) as err:
        log.error("costnotify %s: failed: %s", account, err)
        print(metric_line("Failures", 1, account), flush=True)
        return {"status": "failed", "errors": [str(err)]}
    if dry_run:
        log.info("costnotify %s: dry run:\n%s", account, out.getvalue())
    days = outcome.every()
    stale = sum(len(o.taken_over) for o in days)
    if stale:
        print(metric_line("StaleClaims", stale, account), flush=True)
    if any(o.status == "failed" for o in days):
        print(metric_line("Failures", 1, account), flush=True)
    elif not dry_run and outcome.status != "being sent":  # that run reports the day itself
        print(metric_line("DailyReport", 1, account), flush=True)
    log.info("costnotify %s: %s for %s", account, outcome.status, outcome.day)
    return outcome.as_dict()


if __name__ == "__main__":  # a local trial: python -m costlib.notify.lambda_handler '{"day": ...}'
    import json

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    print(json.dumps(handler(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}), indent=1))
