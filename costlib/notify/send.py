"""Sending the morning email, at most once per account, reported day and audience.

:func:`send` hands one :class:`~costlib.notify.message.Email` to SES v2 (or publishes it to
SNS); :class:`Markers` are the objects in the bucket that say it was sent.
:func:`costlib.notify.run` checks the marker, claims it (a conditional put), sends, then
records the message id, so that a retried or doubled run sends nothing new.
"""

from __future__ import annotations

import datetime as dt
import json

from .aws import NotifyError, client, error_code
from .config import Config
from .message import Email


class Markers:
    """What was sent, as one object per account, day and audience under the state prefix.

    A run checks the marker first; it claims it with a conditional put (``IfNoneMatch='*'``)
    before sending, so a retried or doubled invocation finds it and sends nothing; a refused
    send releases the claim.
    """

    def __init__(self, s3, bucket: str, prefix: str, account: str) -> None:
        self.s3, self.bucket, self.prefix, self.account = s3, bucket, prefix, account

    def key(self, day: dt.date, audience: str) -> str:
        """``costnotify/sent/<account>/<day>/<audience>.json``."""
        slug = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in audience)
        return f"{self.prefix}sent/{self.account}/{day.isoformat()}/{slug}.json"

    def exists(self, day: dt.date, audience: str) -> bool:
        """True when an email for ``day`` and ``audience`` was sent (or is being sent).

        A listing, not a HEAD: without ``s3:GetObject`` rights on a missing key S3 answers
        403 rather than 404, while a list of the state prefix is unambiguous.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.key(day, audience)
        try:
            found = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        except (BotoCoreError, ClientError) as err:
            code = error_code(err) if isinstance(err, ClientError) else str(err)
            raise NotifyError(f"s3://{self.bucket}/{key}: cannot check the sent marker "
                              f"({code})") from None
        return any(obj["Key"] == key for obj in found.get("Contents", []))

    def claim(self, day: dt.date, audience: str, info: dict) -> bool:
        """Create the marker if no one has; ``False`` when it already exists."""
        from botocore.exceptions import ClientError

        body = json.dumps({**info, "status": "sending"}).encode()
        try:
            self.s3.put_object(Bucket=self.bucket, Key=self.key(day, audience), Body=body,
                               IfNoneMatch="*", ContentType="application/json")
            return True
        except ClientError as err:
            if error_code(err) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                return False
            raise NotifyError(f"s3://{self.bucket}/{self.key(day, audience)}: cannot write "
                              f"the sent marker ({error_code(err)})") from None

    def done(self, day: dt.date, audience: str, info: dict) -> None:
        """Record the sent message over the claim."""
        self.s3.put_object(Bucket=self.bucket, Key=self.key(day, audience),
                           Body=json.dumps({**info, "status": "sent"}).encode(),
                           ContentType="application/json")

    def release(self, day: dt.date, audience: str) -> None:
        """Remove a claim whose email was refused, so that a later run may send it."""
        self.s3.delete_object(Bucket=self.bucket, Key=self.key(day, audience))


def send(email: Email, config: Config, *, ses=None, sns=None) -> str:
    """Send through SES v2 (raw MIME, text + HTML) or publish to SNS; return the message id."""
    from botocore.exceptions import BotoCoreError, ClientError

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


def _sns_subject(text: str) -> str:
    """SNS subjects are ASCII, one line, under 100 characters."""
    return text.encode("ascii", "replace").decode()[:99]


__all__ = ["Markers", "send"]
