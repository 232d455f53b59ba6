"""Sending the morning email, at most once per account, reported day and audience.

:func:`send` hands one :class:`~costlib.notify.message.Email` to SES v2 (or publishes it to
SNS); :class:`Markers` are the objects in the bucket that say it was sent.
:func:`costlib.notify.run` checks the marker, claims it (a conditional put), sends, then
records the message id, so that a retried or doubled run sends nothing new.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

from .aws import NotifyError, client, error_code
from .config import Config
from .message import WEBHOOK, Email


class Markers:
    """What was sent, as objects per account, day and audience under the state prefix.

    The final email's marker is ``<audience>.json``; a partial day's email (data still coming)
    has its own, ``<audience>.partial.json``, so a day gets at most one partial and one final
    email. A run claims a marker with a conditional put (``IfNoneMatch='*'``) before sending,
    so a retried or doubled invocation finds it and sends nothing; a refused send releases the
    claim. A claim still ``sending`` after the timeout belongs to a run that died between claim
    and send: :meth:`claim` takes it over, and only one run can (each claim has an id, and the
    takeover is itself a conditional put of ``<marker>.takeover-<id>``).
    """

    def __init__(self, s3, bucket: str, prefix: str, account: str) -> None:
        self.s3, self.bucket, self.prefix, self.account = s3, bucket, prefix, account

    def key(self, day: dt.date, audience: str, stage: str = "") -> str:
        """``costnotify/sent/<account>/<day>/<audience>[.<stage>].json``."""
        slug = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in audience)
        return (f"{self.prefix}sent/{self.account}/{day.isoformat()}/{slug}"
                f"{'.' + stage if stage else ''}.json")

    def exists(self, day: dt.date, audience: str, stage: str = "") -> bool:
        """True when an email for ``day`` and ``audience`` was sent (or is being sent).

        A listing, not a HEAD: without ``s3:GetObject`` rights on a missing key S3 answers
        403 rather than 404, while a list of the state prefix is unambiguous.
        """
        key = self.key(day, audience, stage)
        return key in self._listed(key)

    def state(self, day: dt.date, audience: str, stage: str = "") -> dict | None:
        """The marker's content (``status``, ``at``, ``claim``...), ``None`` when there is none."""
        if not self.exists(day, audience, stage):
            return None
        return self._read(self.key(day, audience, stage))

    def _read(self, key: str) -> dict:
        try:
            return json.loads(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except (ValueError, *_aws_errors()) as err:
            raise NotifyError(f"s3://{self.bucket}/{key}: cannot read the sent marker "
                              f"({_code(err)})") from None

    def pending(self, before: dt.date, days: int, now: dt.datetime,
                timeout: dt.timedelta) -> list[dt.date]:
        """Days in the ``days`` before ``before`` a scheduled run must finish: a partial
        account email (or webhook message) without its final one; a claim left ``sending``
        past ``timeout`` (its run died); a day with no marker after a day with one (its
        morning came before its data, or its run never ran)."""
        first = before - dt.timedelta(days=days)
        start = f"{self.prefix}sent/{self.account}/"
        keys = self._listed(start, start_after=f"{start}{first.isoformat()}")
        found, marked, final = set(), set(), set()
        for key in keys:
            day_text, name = key[len(start):].split("/", 1)
            day = dt.date.fromisoformat(day_text)
            if not first <= day < before or ".takeover-" in name:
                continue
            marked.add(day)
            audience = name.removesuffix(".json").removesuffix(".partial")
            stage = "partial" if name.endswith(".partial.json") else ""
            if not stage:
                final.add(day)
            if (stage and audience in ("account", "webhook")
                    and f"{start}{day_text}/{audience}.json" not in keys):
                found.add(day)
            elif day not in found and is_stale(self._read(key), now, timeout):
                found.add(day)
        if marked:
            gap = min(marked) + dt.timedelta(days=1)
            while gap < before:
                if gap not in final:
                    found.add(gap)
                gap += dt.timedelta(days=1)
        return sorted(found)

    def _listed(self, prefix: str, start_after: str = "") -> set[str]:
        try:
            keys = set()
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, **({"StartAfter": start_after}
                                                      if start_after else {}))
            for page in pages:
                keys |= {obj["Key"] for obj in page.get("Contents", [])}
            return keys
        except _aws_errors() as err:
            raise NotifyError(f"s3://{self.bucket}/{prefix}: cannot check the sent markers "
                              f"({_code(err)})") from None

    def claim(self, day: dt.date, audience: str, info: dict, stage: str = "",
              stale: dict | None = None) -> bool:
        """Create the marker if no one has (or take over the ``stale`` claim found there);
        ``False`` when another run got there first."""
        key = self.key(day, audience, stage)
        body = {**info, "status": "sending", "claim": uuid.uuid4().hex}
        if stale is not None:
            takeover = f"{key.removesuffix('.json')}.takeover-{stale.get('claim', 'none')}.json"
            if not self._put_new(takeover, body):
                return False
            body["took_over"] = {k: stale.get(k) for k in ("claim", "at")}
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(body).encode(),
                               ContentType="application/json")
            return True
        return self._put_new(key, body)

    def _put_new(self, key: str, body: dict) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(body).encode(),
                               IfNoneMatch="*", ContentType="application/json")
            return True
        except ClientError as err:
            if error_code(err) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                return False
            raise NotifyError(f"s3://{self.bucket}/{key}: cannot write the sent marker "
                              f"({error_code(err)})") from None

    def done(self, day: dt.date, audience: str, info: dict, stage: str = "") -> None:
        """Record the sent message over the claim."""
        self.s3.put_object(Bucket=self.bucket, Key=self.key(day, audience, stage),
                           Body=json.dumps({**info, "status": "sent"}).encode(),
                           ContentType="application/json")

    def release(self, day: dt.date, audience: str, stage: str = "") -> None:
        """Remove a claim whose email was refused, so that a later run may send it."""
        self.s3.delete_object(Bucket=self.bucket, Key=self.key(day, audience, stage))


def is_stale(marker: dict | None, now: dt.datetime, timeout: dt.timedelta) -> bool:
    """True for a claim still ``sending`` longer than ``timeout`` after it was made (its run
    died between claim and send: a Lambda never runs that long)."""
    if not marker or marker.get("status") != "sending":
        return False
    try:
        at = dt.datetime.fromisoformat(str(marker.get("at")))
    except ValueError:
        return True  # a claim without a readable time cannot be shown to be alive
    return now - (at if at.tzinfo else at.replace(tzinfo=dt.UTC)) > timeout


def _aws_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return BotoCoreError, ClientError


def _code(err: Exception) -> str:
    return error_code(err) if hasattr(err, "response") else str(err)


def send(email: Email, config: Config, *, ses=None, sns=None) -> str:
    """Send through SES v2 (raw MIME, text + HTML), publish to SNS, or post the webhook's
    message; return the message id."""
    from botocore.exceptions import BotoCoreError, ClientError

    if email.audience == WEBHOOK:
        return post_webhook(config.webhook_url, email.text)
    try:
        if config.transport == "sns":
            response = (sns or client("sns")).publish(
                TopicArn=email.topic, Subject=_sns_subject(email.subject), Message=email.text)
        else:
            response = (ses or client("sesv2")).send_email(
                FromEmailAddress=config.sender, Destination={"ToAddresses": list(email.to)},
                Content={"Raw": {"Data": email.message(config.sender).as_bytes()}})
    except ClientError as err:
        service = "SNS" if config.transport == "sns" else "SES"
        message = err.response.get("Error", {}).get("Message", "")
        raise NotifyError(f"{service} refused the email {email.subject!r} "
                          f"({error_code(err)}: {message})") from None
    except BotoCoreError as err:
        raise NotifyError(f"cannot reach {config.transport.upper()} ({err})") from None
    return response["MessageId"]


#: The webhook's attempts and the pause before the second (doubled each time, or the
#: server's Retry-After up to RETRY_AFTER_MAX seconds).
WEBHOOK_ATTEMPTS = 3
WEBHOOK_PAUSE = 0.5
RETRY_AFTER_MAX = 10.0
WEBHOOK_TIMEOUT = 20


def post_webhook(url: str, text: str) -> str:
    """POST ``{"text": text}`` as JSON to a Slack-compatible incoming webhook; return a
    message id of our own (webhooks return none).

    A refused connection, a 429 or a 5xx is tried again (three attempts in all); any other
    answer, or no answer in time (the message may have arrived), is a :class:`NotifyError`.
    """
    import time
    import urllib.error
    import urllib.request

    body = json.dumps({"text": text}).encode()
    pause = WEBHOOK_PAUSE
    for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
                response.read()
            return f"webhook-{uuid.uuid4().hex[:12]}"
        except urllib.error.HTTPError as err:
            retry = err.code == 429 or err.code >= 500
            wait = _retry_after(err.headers.get("Retry-After"), pause)
            problem = f"HTTP {err.code}"
        except urllib.error.URLError as err:
            retry = isinstance(err.reason, ConnectionError)
            wait, problem = pause, str(err.reason)
        except TimeoutError:
            retry, problem = False, "no answer in time"
        if not retry or attempt == WEBHOOK_ATTEMPTS:
            raise NotifyError(f"the webhook refused the message ({problem}, attempt {attempt} "
                              f"of {WEBHOOK_ATTEMPTS})")
        time.sleep(wait)
        pause *= 2
    raise AssertionError("unreachable")


def _retry_after(value: str | None, default: float) -> float:
    try:
        return min(max(float(value), 0.0), RETRY_AFTER_MAX) if value else default
    except ValueError:
        return default


def _sns_subject(text: str) -> str:
    """SNS subjects are ASCII, one line, under 100 characters."""
    return text.encode("ascii", "replace").decode()[:99]


__all__ = ["Markers", "is_stale", "post_webhook", "send"]
