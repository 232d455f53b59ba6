"""The costnotify configuration: a JSON (or YAML) file, local or in S3, plus environment variables.

Everything is checked when it is loaded, before any bill is read or any email sent; a bad value
gets one line naming the key, the value and what is expected. A minimal file:

    {"account": "012345678901", "name": "ocean-lab", "sender": "costnotify@example.org",
     "recipients": ["pi@example.org"]}

Environment variables override the file (``COSTNOTIFY_DAYS_BACK=2``); ``COSTNOTIFY_CONFIG``
names the file when no path is given. See ``deploy/README.md`` for every key.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CostlibError
from ..layout import DEFAULT_TAG
from ..timezones import PACIFIC, zone
from .aws import error_code
from .grants import Grant

DEFAULT_BUCKET = "copydbr"
DEFAULT_STATE_PREFIX = "costnotify/"
TRANSPORTS = ("ses", "sns")
EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
ACCOUNT = re.compile(r"^\d{12}$")

#: Environment variables that override a key of the file.
ENV = {
    "COSTNOTIFY_ACCOUNT": "account", "COSTNOTIFY_NAME": "name",
    "COSTNOTIFY_BUCKET": "bucket", "COSTNOTIFY_PREFIX": "prefix",
    "COSTNOTIFY_RECIPIENTS": "recipients", "COSTNOTIFY_SENDER": "sender",
    "COSTNOTIFY_TRANSPORT": "transport", "COSTNOTIFY_SNS_TOPIC_ARN": "sns_topic_arn",
    "COSTNOTIFY_TZ": "tz", "COSTNOTIFY_DAYS_BACK": "days_back", "COSTNOTIFY_TAG": "tag",
    "COSTNOTIFY_TOP": "top", "COSTNOTIFY_STATE_PREFIX": "state_prefix",
    "COSTNOTIFY_WEBHOOK_URL": "webhook_url",
}  # fmt: skip
LIST_KEYS = {"recipients", "tag"}
INT_KEYS = {"days_back": (0, 60), "top": (1, 50), "provisional_days": (0, 31),
            "missing_after_days": (1, 60), "settle_days": (1, 90),
            "claim_timeout_minutes": (5, 1440), "grant_grace_days": (0, 366),
            "unusual_floor": (0, 1_000_000)}
KEYS = {"account", "name", "bucket", "prefix", "recipients", "sender", "transport",
        "sns_topic_arn", "tz", "days_back", "tag", "top", "provisional_days",
        "missing_after_days", "settle_days", "state_prefix", "grants", "claim_timeout_minutes",
        "grant_grace_days", "unusual_floor", "webhook_url"}
GRANT_KEYS = {"name", "amount", "start", "end", "tags", "tag", "custom_charge", "credits",
              "recipients", "sns_topic_arn"}


class ConfigError(CostlibError, ValueError):
    """The costnotify configuration is missing, unreadable or holds a bad value."""


@dataclass(frozen=True)
class Config:
    """Who gets which email about which account, from where. Defaults in brackets:

    ``account`` (12 digits) and ``name`` (friendly, for the subject); ``bucket`` [copydbr] and
    ``prefix`` [""] of the month files; ``recipients``, ``sender`` (a verified SES identity),
    ``transport`` [ses] or sns with ``sns_topic_arn``; ``tz`` [America/Los_Angeles] of the
    days; ``days_back`` [1]: report the day that many days before today; ``tag``
    [user:Owner]: the tag (or fallback chain) naming users; ``top`` [8] users and services
    shown; ``provisional_days`` [3]: days before the newest data that are still revised;
    ``missing_after_days`` [3]: send a "data missing" email once the reported day is that many
    days past the newest data; ``settle_days`` [10]: a month is final that many days after it
    ends even without an invoice id (CloudCheckr copies never get one); ``state_prefix``
    [costnotify/]: where sent markers and the grant cache live in the bucket;
    ``claim_timeout_minutes`` [15]: a claim still "sending" after that long belongs to a run
    that died (a Lambda runs at most 5): the next run takes it over; ``grant_grace_days`` [14]:
    a grantee's email goes on that many days after the grant's end (none before its start);
    ``unusual_floor`` [20]: dollars a user's or service's day must exceed its 28-day median by,
    at least, to be flagged unusual (see :mod:`costlib.notify.unusual`); ``webhook_url``: a
    Slack-compatible incoming webhook that also gets the day's top lines (a second channel,
    with its own sent marker); ``grants``.
    """

    account: str
    name: str = ""
    bucket: str = DEFAULT_BUCKET
    prefix: str = ""
    recipients: tuple[str, ...] = ()
    sender: str | None = None
    transport: str = "ses"
    sns_topic_arn: str | None = None
    tz: str = PACIFIC
    days_back: int = 1
    tag: tuple[str, ...] = (DEFAULT_TAG,)
    top: int = 8
    provisional_days: int = 3
    missing_after_days: int = 3
    settle_days: int = 10
    state_prefix: str = DEFAULT_STATE_PREFIX
    claim_timeout_minutes: int = 15
    grant_grace_days: int = 14
    unusual_floor: int = 20
    webhook_url: str | None = None
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        """``ocean-lab`` (or the account id when no name is set)."""
        return self.name or self.account

    def check_sending(self, where: str = "configuration") -> Config:
        """Refuse a configuration that cannot send (used unless it is a dry run)."""
        if self.transport == "ses":
            if not self.sender and (self.recipients or any(g.recipients for g in self.grants)
                                    or not self.webhook_url):
                raise ConfigError(f"{where}: sender is missing (a verified SES address)")
            if not (self.recipients or self.webhook_url or any(g.recipients
                                                                for g in self.grants)):
                raise ConfigError(f"{where}: recipients is missing (a list of addresses)")
        elif not self.sns_topic_arn:
            raise ConfigError(f"{where}: sns_topic_arn is missing (transport is sns)")
        return self


def load_config(source: str | os.PathLike | Mapping | None = None,
                env: Mapping[str, str] | None = None) -> Config:
    """Read, merge with the environment and check a configuration.

    ``source`` is a path, an ``s3://`` URL, a dict, or ``None`` (``COSTNOTIFY_CONFIG``, else
    only the environment).
    """
    env = os.environ if env is None else env
    if source is None:
        source = env.get("COSTNOTIFY_CONFIG") or None
    if source is None:
        data, where = {}, "environment"
    elif isinstance(source, Mapping):
        data, where = dict(source), "configuration"
    else:
        where = os.fspath(source)
        data = _parse(where, _read(where))
    for var, key in ENV.items():
        if env.get(var, "") != "":
            value = env[var]
            data[key] = [v.strip() for v in value.split(",") if v.strip()] if (
                key in LIST_KEYS) else value
            if key in INT_KEYS:
                data[key] = _int(where, var, value, *INT_KEYS[key])
    return parse_config(data, where)


def demo_config() -> Config:
    """The configuration ``costlib notify --dry-run`` uses with no ``--config``: the sample's
    account, two grants (one with its own recipient), example.org addresses that are never sent."""
    from ..sample import ACCOUNT_NAME, SAMPLE_ACCOUNT

    return parse_config({
        "account": SAMPLE_ACCOUNT, "name": ACCOUNT_NAME,
        "sender": "costnotify@example.org", "recipients": ["manager@example.org"],
        "tag": ["user:Owner", "user:Project"],
        "grants": [
            {"name": "Coral Reef Survey", "amount": 1500, "start": "2026-02-01",
             "end": "2026-07-31", "tags": ["alice"], "recipients": ["alice@example.org"]},
            {"name": "Tide Model", "amount": 250, "start": "2026-02-01", "end": "2026-03-31",
             "tags": ["bob", "o'brien \"ob\""]},
        ],
    }, "demo configuration")  # fmt: skip


def parse_config(data: Mapping, where: str = "configuration") -> Config:
    """Check a configuration already parsed into a dict; see :class:`Config` for the keys."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected an object of settings, not a "
                          f"{type(data).__name__}")
    _unknown(where, data, KEYS, "")
    account = str(data.get("account", "")).strip()
    if not account:
        raise ConfigError(f"{where}: account is missing (the 12-digit AWS account id)")
    if not ACCOUNT.match(account):
        raise ConfigError(f"{where}: account must be 12 digits (quote it to keep leading "
                          f"zeros), not {data['account']!r}")
    values: dict = {"account": account}
    for key in ("name", "bucket", "prefix", "sender", "sns_topic_arn", "state_prefix"):
        if data.get(key) is not None:
            values[key] = _text(where, key, data[key])
    if "bucket" in values and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
                                               values["bucket"]):
        raise ConfigError(f"{where}: bucket {values['bucket']!r} is not an S3 bucket name")
    if values.get("sender") and not EMAIL.match(values["sender"]):
        raise ConfigError(f"{where}: sender is not an email address: {values['sender']!r}")
    if data.get("webhook_url") is not None:
        url = _text(where, "webhook_url", data["webhook_url"])
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
            raise ConfigError(f"{where}: webhook_url must be an http(s) URL (a Slack-compatible "
                              f"incoming webhook), not {url!r}")
        values["webhook_url"] = url
    if "state_prefix" in values and not values["state_prefix"].endswith("/"):
        values["state_prefix"] += "/"
    if "recipients" in data:
        values["recipients"] = _emails(where, "recipients", data["recipients"])
    transport = data.get("transport", "ses")
    if transport not in TRANSPORTS:
        raise ConfigError(f"{where}: transport must be ses or sns, not {transport!r}")
    values["transport"] = transport
    if "tz" in data:
        tz = _text(where, "tz", data["tz"])
        try:
            zone(tz)
        except CostlibError as err:
            raise ConfigError(f"{where}: tz: {err}") from None
        values["tz"] = tz
    for key, (lo, hi) in INT_KEYS.items():
        if key in data:
            values[key] = _int(where, key, data[key], lo, hi)
    if "tag" in data:
        values["tag"] = _tags(where, "tag", data["tag"])
    grants = data.get("grants", [])
    if not isinstance(grants, Sequence) or isinstance(grants, str):
        raise ConfigError(f"{where}: grants must be a list of objects")
    values["grants"] = tuple(_grant(where, i, g) for i, g in enumerate(grants))
    names = [g.name for g in values["grants"]]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{where}: two grants are named {name!r}; names must differ")
    config = Config(**values)
    if config.transport == "sns":
        for g in config.grants:
            if g.recipients and not g.sns_topic_arn:
                raise ConfigError(f"{where}: grant {g.name!r} has recipients but no "
                                  "sns_topic_arn (transport is sns)")
    return config


def _read(where: str) -> bytes:
    if where.startswith("s3://"):
        from botocore.exceptions import BotoCoreError, ClientError

        from ..files import s3_client, split_s3_url

        bucket, key = split_s3_url(where)
        try:
            return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as err:
            raise ConfigError(f"{where}: cannot read the configuration "
                              f"({error_code(err)})") from None
        except BotoCoreError as err:
            raise ConfigError(f"{where}: cannot reach S3 ({err})") from None
    path = Path(where)
    if not path.is_file():
        raise ConfigError(f"{where}: no such configuration file")
    return path.read_bytes()


def _parse(where: str, raw: bytes) -> dict:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not UTF-8 text") from None
    if where.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:
            raise ConfigError(f"{where}: YAML needs PyYAML (pip install pyyaml), or write "
                              "the configuration as JSON") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            first = str(err).splitlines()[0]
            raise ConfigError(f"{where}: not valid YAML ({first})") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{where}: not valid JSON ({err.msg} at line {err.lineno}, "
                              f"column {err.colno})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected an object of settings, not "
                          f"{type(data).__name__}")
    return data


def _unknown(where: str, data: Mapping, known: set[str], what: str) -> None:
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}: {what}unknown key {key!r}{hint}")


def _text(where: str, key: str, value) -> str:
    if not isinstance(value, str) or not value.strip() or "\n" in value or "\r" in value:
        raise ConfigError(f"{where}: {key} must be one line of text, not {value!r}")
    return value.strip()


def _int(where: str, key: str, value, lo: int, hi: int) -> int:
    try:
        number = int(value) if not isinstance(value, (bool, float)) else None
    except (TypeError, ValueError):
        number = None
    if number is None or not lo <= number <= hi:
        raise ConfigError(f"{where}: {key} must be a whole number from {lo} to {hi}, "
                          f"not {value!r}")
    return number


def _emails(where: str, key: str, value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not value:
        raise ConfigError(f"{where}: {key} must be a list of email addresses")
    for address in value:
        if not isinstance(address, str) or not EMAIL.match(address.strip()):
            raise ConfigError(f"{where}: {key}: not an email address: {address!r}")
    return tuple(a.strip() for a in value)


def _tags(where: str, key: str, value) -> tuple[str, ...]:
    tags = [value] if isinstance(value, str) else value
    if not isinstance(tags, Sequence) or not tags or not all(
            isinstance(t, str) and t.strip() for t in tags):
        raise ConfigError(f"{where}: {key} must be a tag column or a list of them, "
                          f"such as 'user:Owner', not {value!r}")
    return tuple(t.strip() for t in tags)


def _date(where: str, what: str, value) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where}: {what} must be a date YYYY-MM-DD, not {value!r}") from None


def _grant(where: str, i: int, data) -> Grant:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: grants[{i}] must be an object")
    name = data.get("name")
    label = f"grant {name!r}" if isinstance(name, str) and name.strip() else f"grants[{i}]"
    _unknown(where, data, GRANT_KEYS, f"{label}: ")
    for needed in ("name", "amount", "start", "end", "tags"):
        if needed not in data:
            raise ConfigError(f"{where}: {label}: {needed} is missing")
    name = _text(where, f"{label}: name", data["name"])
    amount = data["amount"]
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not amount > 0:
        raise ConfigError(f"{where}: {label}: amount must be a number of dollars above 0, "
                          f"not {amount!r}")
    start = _date(where, f"{label}: start", data["start"])
    end = _date(where, f"{label}: end", data["end"])
    if end < start:
        raise ConfigError(f"{where}: {label}: end ({end}) is before start ({start})")
    values = data["tags"]
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Sequence) or not values or not all(
            isinstance(v, str) and v for v in values):
        raise ConfigError(f"{where}: {label}: tags must be a list of the tag values that "
                          f"belong to the grantee, not {data['tags']!r}")
    flags = {}
    for key in ("custom_charge", "credits"):
        if key in data:
            if not isinstance(data[key], bool):
                raise ConfigError(f"{where}: {label}: {key} must be true or false, "
                                  f"not {data[key]!r}")
            flags[key] = data[key]
    recipients = _emails(where, f"{label}: recipients", data["recipients"]) if data.get(
        "recipients") else ()
    topic = _text(where, f"{label}: sns_topic_arn", data["sns_topic_arn"]) if data.get(
        "sns_topic_arn") else None
    tag = _tags(where, f"{label}: tag", data["tag"]) if "tag" in data else None
    return Grant(name=name, amount=float(amount), start=start, end=end, values=tuple(values),
                 tag=tag, recipients=recipients, sns_topic_arn=topic, **flags)
