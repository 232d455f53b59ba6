"""The morning email itself: subject, plain text and HTML, composed from a :class:`Digest`.

    >>> day_label(dt.date(2026, 2, 14))
    'Sat 14 Feb'

:func:`compose` writes the account managers' email, :func:`compose_grant` a grantee's (its
grant alone), :func:`compose_missing` the short notice that the data has not arrived. Each is
a list of sections rendered twice, as text and as HTML (every value escaped).
"""

from __future__ import annotations

import calendar
import datetime as dt
import html
import os
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate

import pandas as pd

from .. import money
from ..files import bill_name
from ..spending import OTHER, UNTAGGED, UNTAGGED_LABEL
from ..timezones import local_time
from .digest import DAY, SPARK_DAYS, Digest
from .grants import BURN_DAYS, GrantStatus
from .unusual import BASELINE_DAYS

SPARKS = "▁▂▃▄▅▆▇█"
WEBHOOK = "webhook"  #: the audience of the Slack-compatible incoming webhook
NO_DATA = "·"
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")
_MONTHS = tuple(name[:3] for name in _MONTH_NAMES)


@dataclass(frozen=True)
class Email:
    """One email: to whom (``audience`` is ``account`` or ``grant:<name>``) and what."""

    audience: str
    kind: str
    subject: str
    text: str
    html: str
    to: tuple[str, ...]
    topic: str | None = None

    def message(self, sender: str | None) -> EmailMessage:
        """The MIME message: plain text with an HTML alternative."""
        msg = EmailMessage()
        msg["Subject"] = self.subject
        msg["From"] = sender or "costnotify@localhost"
        msg["To"] = ", ".join(self.to) or "(nobody)"
        msg["Date"] = formatdate(localtime=False)
        msg["X-Costnotify-Audience"] = self.audience
        msg.set_content(self.text)
        msg.add_alternative(self.html, subtype="html")
        return msg

    def preview(self, sender: str | None) -> str:
        """What ``--dry-run`` prints: the headers, ``Subject:`` first, then the text body."""
        to = ", ".join(self.to) if self.to else (self.topic or "(nobody)")
        return (f"Subject: {self.subject}\nFrom: {sender or '(no sender)'}\nTo: {to}\n"
                f"X-Costnotify-Audience: {self.audience}\n\n{self.text}")


@dataclass
class _Section:
    """A titled block of an email: prose lines, an optional table, rendered as text and HTML."""

    title: str = ""
    lines: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mono: bool = False
    big: str = ""  #: the headline amount, large in HTML (the text has it in its first line)
    cards: bool = False  #: rows as stacked cards in HTML, the last column (status) first
    bars: list[tuple[dt.date, int | None]] = field(default_factory=list)  #: HTML chart


def day_label(day: dt.date, year: bool = False) -> str:
    """``Tue 14 Feb`` (``Tue 14 Feb 2026`` with ``year``), whatever the locale."""
    text = f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"
    return f"{text} {day.year}" if year else text


#: What people call the zones of most accounts; any other zone reads as its IANA name.
ZONE_NAMES = {"America/Los_Angeles": "Pacific", "America/Denver": "Mountain",
              "America/Phoenix": "Arizona", "America/Chicago": "Central",
              "America/New_York": "Eastern", "UTC": "UTC"}


def zone_label(tz: str) -> str:
    """``Pacific`` for America/Los_Angeles (the zone as a reader says it), else the name.

    >>> zone_label("America/Los_Angeles"), zone_label("Europe/Berlin")
    ('Pacific', 'Europe/Berlin')
    """
    return ZONE_NAMES.get(tz, tz)


def _plural(count: int, word: str) -> str:
    """``1 user``, ``3 users``."""
    return f"{count} {word if count == 1 else word + 's'}"


def _date(day: dt.date) -> str:
    """``1 Feb 2026``, whatever the locale."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _usd(units: int | None, sign: bool = False) -> str:
    return "n/a" if units is None else money.usd(money.dollars(units), sign=sign)


def sparkline(values: list[int | None]) -> str:
    """One block per value, scaled from the lowest value to the highest (so $86-$192 does
    not look flat); ``·`` for no data.

    >>> sparkline([100, 150, 200, None])
    '▁▅█·'
    """
    known = [v for v in values if v is not None]
    if not known:
        return NO_DATA * len(values)
    lo, hi = min(known), max(known)
    span = hi - lo
    out = []
    for v in values:
        if v is None:
            out.append(NO_DATA)
        else:
            out.append(SPARKS[round((v - lo) * (len(SPARKS) - 1) / span) if span else 0])
    return "".join(out)


def subject(digest: Digest, was: str | None = None) -> str:
    """``$123.45 on Tue 14 Feb - AWS ocean-lab (MTD $1,234.56)``; the amount always first,
    then what the reader must know about it: ``partial, data to 20:00`` for a day the data do
    not yet cover, ``final (the partial figure was $30.75)`` for the correction that follows."""
    return (f"{_usd(digest.total(digest.day, lacking_ok=True))} on {day_label(digest.day)}"
            f"{''.join(', ' + flag for flag in _flags(digest, was))} - "
            f"AWS {_one_line(digest.config.label)} (MTD {_usd(digest.month_to_date)})")


def _flags(digest: Digest, was: str | None = None) -> list[str]:
    """What the subject says after the amount: partial (and the hour the data reach)."""
    flags = [f"without the {month} file" for month in digest.lacking(digest.day)]
    if digest.has_data and not digest.complete:
        flags.append(f"partial, data to {local_time(digest.data_through, digest.tz):%H:%M}")
    elif was is not None:
        flags.append(f"final (the partial figure was {was})")
    unusual = digest.unusual
    shown = [u for u in unusual if u.kind == "user"][:2] or unusual[:1]
    if shown:
        flags.append("unusual: " + ", ".join(
            f"{_one_line(_name(u.name))} +${round(money.dollars(u.excess)):,}" for u in shown))
    return flags


def _name(name: str) -> str:
    """A user or service as the email shows it (the untagged spend as ``untagged``)."""
    return UNTAGGED_LABEL if name == UNTAGGED else name


def _unusual_section(digest: Digest) -> _Section | None:
    """Each user and service far above its own last 28 days, with the rule in a note."""
    unusual = digest.unusual
    if not unusual:
        return None
    section = _Section(title="Unusual today")
    for u in unusual:
        section.lines.append(
            f"{u.kind} {_one_line(_name(u.name))}: {_usd(u.amount)} on {day_label(digest.day)}, "
            f"{_usd(u.excess, sign=True)} over its median of {_usd(u.median)} a day "
            f"(last {_plural(u.days, 'day')}).")
    section.notes.append(
        f"Unusual: more than max(4 robust SDs, ${digest.config.unusual_floor:,}) above the "
        f"median of its own last {BASELINE_DAYS} days (robust SD = 1.4826 x the median "
        "absolute deviation).")
    return section


def compose(digest: Digest, was: str | None = None) -> Email:
    """The account managers' email about the reported day (``was``: the partial figure an
    earlier email gave for it, when this one is the final)."""
    c, day = digest.config, digest.day
    sections = [_headline(digest), *filter(None, [_unusual_section(digest)]),
                _table_section(f"Spend per user ({' > '.join(c.tag)})", digest.users, day,
                               c.top, "users"),
                _table_section("Spend by service", digest.services, day, c.top, "services"),
                _spark_section(f"Last {SPARK_DAYS} days", digest, digest.total)]
    grace = dt.timedelta(days=c.grant_grace_days)
    grants = [s for s in digest.grants if day <= s.grant.end + grace]  # long over: not shown
    if grants:
        sections.append(_grants_section(grants))
    sections.append(_footer(digest))
    return _email("account", "report", subject(digest, was), sections, c.recipients,
                  c.sns_topic_arn)


def compose_grant(digest: Digest, status: GrantStatus) -> Email:
    """The grantee's own email: its grant alone, none of the account's other spend."""
    g, day = status.grant, digest.day
    daily = digest.grant_daily[g.name]
    on_day = daily.get(day, 0) if digest.has_data else None
    partial = [f for f in _flags(digest) if f.startswith("partial")]
    subj = (f"{_usd(on_day)} on {day_label(day)}{''.join(', ' + f for f in partial)} - "
            f"grant {_one_line(g.name)} on AWS "
            f"{_one_line(digest.config.label)} ({_usd(status.spent)} of "
            f"{money.usd(g.amount)} spent)")
    head = _Section(lines=[
        f"Grant {g.name} on AWS {digest.config.label}: {_usd(on_day)} on "
        f"{day_label(day, year=True)} ({zone_label(digest.tz)} day).",
        f"Spent {_usd(status.spent)} of {money.usd(g.amount)} since {_date(g.start)} "
        f"({100 * status.share_spent:.1f}%); {_usd(status.remaining)} left for "
        f"{status.days_left} days to {_date(g.end)}.",
        _pace_line(status), *_freshness(digest)], big=_usd(on_day))
    sections = [head]
    if tuple(g.tag or digest.config.tag) == tuple(digest.config.tag):
        mine = [u for u in digest.users.columns if u in g.values]
        table = _table_section(f"Spend per {' > '.join(digest.config.tag)}",
                               digest.users[mine], day, len(mine) or 1, "values")
        if g.custom_charge:
            table.notes.append("The grant's share of the reseller's custom charge, if any, is "
                               "in the grant's figures, not in this table.")
        sections.append(table)

    def per_day(d: dt.date) -> int | None:
        return daily.get(d, 0) if digest.total(d) is not None else None

    sections += [_spark_section(f"Last {SPARK_DAYS} days of the grant", digest, per_day),
                 _grants_section([status]), _footer(digest)]
    return _email(f"grant:{g.name}", "report", subj, sections, g.recipients, g.sns_topic_arn)


def compose_webhook(digest: Digest, was: str | None = None) -> Email:
    """The webhook's message: the subject, the headline lines, the unusual ones and the
    28-day sparkline (no links: ``&``, ``<`` and ``>`` escaped as Slack wants); the
    data-missing notice's lines when the day has no data."""
    if digest.has_data:
        subj = subject(digest, was)
        lines = _headline(digest).lines
        unusual = _unusual_section(digest)
        lines += unusual.lines if unusual else []
        lines += _spark_section(f"Last {SPARK_DAYS} days", digest, digest.total).lines[:2]
    else:
        missing = compose_missing(digest)
        subj, lines = missing.subject, missing.text.splitlines()
    text = "\n".join([subj, *lines])
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(raw, escaped)
    return Email(audience=WEBHOOK, kind="report" if digest.has_data else "data missing",
                 subject=subj, text=text, html="", to=())


def compose_missing(digest: Digest) -> Email:
    """The short email saying the data for the reported day has not arrived."""
    c, day = digest.config, digest.day
    last = digest.last_data_day
    subj = f"No AWS billing data for {day_label(day)} - AWS {_one_line(c.label)}"
    month_file = bill_name(c.account, f"{day:%Y-%m}")
    lines = [f"costnotify has no billing data for {day_label(day, year=True)} "
             f"({zone_label(c.tz)} day) for AWS {c.label} ({c.account})."]
    if last is None:
        lines.append("No billing file with data was found for the days it needs.")
    else:
        lines.append(f"The newest data is from {time_label(digest.data_through, c.tz)}, "
                     f"{(day - last).days} days before the reported day.")
    if f"{day:%Y-%m}" in digest.missing:
        lines.append(f"The month's file {month_file} is not in {digest.source}.")
    elif digest.updated is not None:
        lines.append(f"The month's file was last updated {time_label(digest.updated, c.tz)}.")
    lines.append("The daily email resumes when data arrives; nothing needs doing unless "
                 "this repeats.")
    return _email("account", "data missing", subj, [_Section(lines=lines)], c.recipients,
                  c.sns_topic_arn)


def _email(audience: str, kind: str, subj: str, sections: list[_Section],
           to: tuple[str, ...], topic: str | None) -> Email:
    """The email made of ``sections``, rendered as plain text and as HTML."""
    return Email(audience=audience, kind=kind, subject=subj, text=_text(sections),
                 html=_html(sections, subj), to=to, topic=topic)


def _headline(digest: Digest) -> _Section:
    c, day = digest.config, digest.day
    today, before = digest.total(day, lacking_ok=True), digest.total(day - DAY)
    lines = [f"AWS {c.label} ({c.account}): {_usd(today)} on {day_label(day, year=True)} "
             f"({zone_label(c.tz)} day)."]
    if before is None or today is None:
        lines.append(f"No data for the day before ({day_label(day - DAY)}).")
    elif not digest.complete:
        lines.append(f"{day_label(day - DAY)}: {_usd(before)} (no change shown: "
                     f"{day_label(day)} is not complete yet).")
    else:
        change = today - before
        pct = f" ({100 * change / before:+.1f}%)" if before else ""
        lines.append(f"Change from {day_label(day - DAY)} ({_usd(before)}): "
                     f"{_usd(change, sign=True)}{pct}.")
    mtd = digest.month_to_date
    days_in_month = calendar.monthrange(day.year, day.month)[1]
    span = f"1-{day.day} {_MONTHS[day.month - 1]}" if day.day > 1 else day_label(day)
    line = f"Month to date ({span}): {_usd(mtd)}"
    full_days, full = (day.day, mtd) if digest.complete else (day.day - 1, mtd - (today or 0))
    if full_days:
        line += (f"; at this pace {_MONTH_NAMES[day.month - 1]} ends near "
                 f"{_usd(full * days_in_month // full_days)} (linear, from {full_days} full "
                 f"day{'s' if full_days > 1 else ''})")
    lines.append(line + ".")
    flags = _flags(digest)
    return _Section(lines=lines + _freshness(digest), big=_usd(today) + "".join(
        f" · {f}" for f in flags))


def _freshness(digest: Digest) -> list[str]:
    tz = digest.tz
    lines = []
    through = f"Data through {time_label(digest.data_through, tz)}"
    if digest.updated is not None:
        through += f"; file last updated {time_label(digest.updated, tz)}"
    lines.append(through + ".")
    if not digest.complete:
        lines.append(f"Partial day: the data for {day_label(digest.day)} is not complete yet.")
    start = digest.provisional_from
    if start is not None and digest.day >= start:
        lines.append(f"Provisional: days from {day_label(start)} on are still being revised "
                     "by AWS; the figures may change.")
    return lines


def _table_section(title: str, table: pd.DataFrame, day: dt.date, top: int,
                   what: str) -> _Section:
    """Top ``top`` columns (by the day's spend, then month to date), then other and
    untagged: day and MTD."""
    section = _Section(title=title, header=["", day_label(day), f"MTD (1-{day.day})"])
    if not len(table.columns):
        section.lines.append(f"No spend by {what} in this month yet.")
        return section
    stamp = pd.Timestamp(day)
    on_day = (table.loc[stamp] if stamp in table.index
              else pd.Series(0, index=table.columns, dtype="int64"))
    mtd = table.sum(axis=0)
    tagged = sorted((c for c in table.columns if c != UNTAGGED),
                    key=lambda c: (-int(on_day[c]), -int(mtd[c]), str(c)))
    groups = [(_one_line(c), [c]) for c in tagged[:top]]
    if tagged[top:]:
        groups.append((f"{OTHER} ({_plural(len(tagged) - top, what.removesuffix('s'))})",
                       tagged[top:]))
    if UNTAGGED in table.columns:
        groups.append((UNTAGGED_LABEL if what != "services" else "(no product name)",
                       [UNTAGGED]))
    for label, columns in groups:
        section.rows.append([label, _usd(int(on_day[columns].sum())),
                             _usd(int(mtd[columns].sum()))])
    section.rows.append(["total", _usd(int(on_day.sum())), _usd(int(mtd.sum()))])
    return section


def _spark_section(title: str, digest: Digest, value) -> _Section:
    days = [digest.day - k * DAY for k in range(SPARK_DAYS - 1, -1, -1)]
    values = [value(d) for d in days]
    known = [(v, d) for v, d in zip(values, days, strict=True) if v is not None]
    lines = [f"{sparkline(values)}  {day_label(days[0])} .. {day_label(days[-1])}"]
    if known:
        low, high = min(known), max(known)
        mean = sum(v for v, _ in known) // len(known)
        lines.append(f"low {_usd(low[0])} ({day_label(low[1])}), high {_usd(high[0])} "
                     f"({day_label(high[1])}), mean {_usd(mean)} a day over the "
                     + (f"{len(known)} days" if len(known) == len(days)
                        else f"{_plural(len(known), 'day')} with data"))
    if len(known) < len(days):
        lines.append(f"{NO_DATA} = no data")
    start = digest.provisional_from
    if start is not None and start <= digest.day:
        lines.append(f"days from {day_label(start)} on are provisional")
    return _Section(title=title, lines=lines, mono=True,
                    bars=list(zip(days, values, strict=True)))


def _pace_line(s: GrantStatus) -> str:
    allowed = ("" if s.allowed_per_day is None
               else f"; the grant allows {_usd(s.allowed_per_day)} a day from here")
    return (f"Pace: {s.status}. Recent burn {_usd(s.burn_per_day)} a day, projected "
            f"{_usd(s.projected)} by the end{allowed}.")


def _grants_section(statuses: list[GrantStatus]) -> _Section:
    section = _Section(title="Grants", cards=True, header=[
        "grant", "amount", "spent", "remaining", "days left", "allowed/day", "burn/day",
        "status"])
    for s in statuses:
        section.rows.append([s.grant.name, money.usd(s.grant.amount), _usd(s.spent),
                             _usd(s.remaining), str(s.days_left),
                             "-" if s.allowed_per_day is None else _usd(s.allowed_per_day),
                             _usd(s.burn_per_day), s.status])
        if s.missing_months:
            section.notes.append(f"{s.grant.name}: no billing file for "
                                 f"{', '.join(s.missing_months)} (counted as $0.00)")
    section.notes.append(f"burn/day: mean of the last {BURN_DAYS} days; status compares spent + "
                         "burn x days left with the amount (over 110%: over, over 100%: watch)")
    return section


def _footer(digest: Digest) -> _Section:
    lines = [f"Blended cost by UsageStartDate, in {zone_label(digest.tz)} days, from "
             f"{', '.join(os.path.basename(f) for f in digest.files) or 'no files'}."]
    if digest.undated:
        lines.append(f"Rows without dates in this month's file (credits, refunds): "
                     f"{_usd(digest.undated, sign=True)}, not in the daily figures.")
    lines.append("Sent by costnotify.")
    return _Section(lines=lines)


def _text(sections: list[_Section]) -> str:
    out: list[str] = []
    for s in sections:
        if s.title:
            out += [s.title, "-" * len(s.title)]
        out += s.lines
        if s.rows:
            table = ([s.header] if s.header else []) + s.rows
            widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
            for row in table:
                cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in
                                                     zip(row[1:], widths[1:], strict=True)]
                out.append("  " + "  ".join(cells).rstrip())
        out += s.notes
        out.append("")
    return "\n".join(out).rstrip() + "\n"


#: Light and dark colours, set explicitly (a client that darkens only the background must
#: not leave dark text on it): background, text, muted text, rules, bars, no-data bars.
LIGHT = {"bg": "#ffffff", "fg": "#1a1a1a", "muted": "#5f6368", "rule": "#d0d4d9",
         "bar": "#1f6feb", "none": "#d0d4d9", "card": "#f6f8fa"}
DARK = {"bg": "#121417", "fg": "#e8eaed", "muted": "#a8adb3", "rule": "#3c4043",
        "bar": "#6ea8fe", "none": "#3c4043", "card": "#1c1f23"}
#: Grant status badges: (background, text), readable in both schemes.
STATUS_COLOURS = {"on track": ("#1a7f37", "#ffffff"), "watch": ("#9a6700", "#ffffff"),
                  "over": ("#cf222e", "#ffffff"), "not started": ("#57606a", "#ffffff"),
                  "ended": ("#57606a", "#ffffff")}
BAR_HEIGHT = 60  #: pixels of the tallest bar; the lowest day gets 6


def _css() -> str:
    """The style block: phones (one column under 480 px) and dark mode; inline styles carry
    the light colours for clients that drop it."""
    d = DARK
    return f"""<style>
:root {{ color-scheme: light dark; supported-color-schemes: light dark; }}
.wrap {{ max-width: 680px; margin: 0 auto; padding: 16px; overflow-wrap: anywhere; }}
.card {{ display: inline-block; vertical-align: top; width: 300px; margin: 0 8px 8px 0; }}
@media (max-width: 480px) {{
  .wrap {{ padding: 10px !important; }}
  .card {{ display: block !important; width: auto !important; margin: 0 0 8px 0 !important; }}
  .big {{ font-size: 30px !important; }}
  .data td, .data th {{ padding: 2px 4px !important; }}
}}
@media (prefers-color-scheme: dark) {{
  body, .wrap {{ background: {d['bg']} !important; color: {d['fg']} !important; }}
  .muted {{ color: {d['muted']} !important; }}
  .card {{ background: {d['card']} !important; border-color: {d['rule']} !important; }}
  .data td, .data th {{ border-color: {d['rule']} !important; }}
  .bar {{ background: {d['bar']} !important; }}
  .nodata {{ background: {d['none']} !important; }}
}}
</style>"""


def _html(sections: list[_Section], title: str) -> str:
    """The HTML page: a viewport for phones, explicit colours with ``color-scheme``, the
    headline amount large, tables that fit 420 px, grants as cards, the chart as bars."""
    e, c = html.escape, LIGHT
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<meta name="color-scheme" content="light dark">',
           '<meta name="supported-color-schemes" content="light dark">',
           f"<title>{e(title)}</title>", _css(), "</head>",
           f'<body style="margin:0;padding:0;background:{c["bg"]};color:{c["fg"]}">',
           f'<div class="wrap" style="background:{c["bg"]};color:{c["fg"]};font-family:'
           f'Helvetica,Arial,sans-serif;font-size:15px;line-height:1.4">']
    for s in sections:
        if s.title:
            out.append(f'<h3 style="margin:20px 0 6px;font-size:17px">{e(s.title)}</h3>')
        if s.big:
            out.append(f'<p class="big" style="font-size:36px;font-weight:bold;'
                       f'margin:4px 0 8px;line-height:1.15">{e(s.big)}</p>')
        if s.bars:
            out.append(_html_bars(s.bars))
        lines = s.lines[1:] if s.bars else s.lines  # the bars replace the text sparkline
        out += [f'<p style="margin:3px 0">{e(line)}</p>' for line in lines]
        if s.rows and s.cards:
            out += [_html_card(s.header, row) for row in s.rows]
        elif s.rows:
            out.append('<table class="data" role="presentation" style="border-collapse:'
                       'collapse;width:100%">')
            if s.header:
                out.append(_html_row(s.header, "th"))
            out += [_html_row(row, "td", bold=row[0] == "total") for row in s.rows]
            out.append("</table>")
        out += [f'<p class="muted" style="color:{c["muted"]};font-size:13px;margin:3px 0">'
                f"{e(n)}</p>" for n in s.notes]
    out.append("</div></body></html>")
    return "\n".join(out) + "\n"


def _html_row(cells: list[str], tag: str, bold: bool = False) -> str:
    """One table row, every cell escaped; the first cell left-aligned, the numbers right."""
    weight = ";font-weight:bold" if bold else ""
    return "<tr>" + "".join(
        f"<{tag} style=\"text-align:{'left' if i == 0 else 'right'};padding:3px 8px;"
        f"border-bottom:1px solid {LIGHT['rule']}{weight}\">{html.escape(c)}</{tag}>"
        for i, c in enumerate(cells)) + "</tr>"


def _html_card(header: list[str], row: list[str]) -> str:
    """A grant as a card: its status first (a coloured badge), its name, then each figure."""
    e, c = html.escape, LIGHT
    status = row[-1]
    bg, fg = STATUS_COLOURS.get(status, ("#57606a", "#ffffff"))
    figures = "".join(
        f'<tr><td class="muted" style="color:{c["muted"]};padding:1px 8px 1px 0">{e(h)}</td>'
        f'<td style="text-align:right;padding:1px 0">{e(v)}</td></tr>'
        for h, v in zip(header[1:-1], row[1:-1], strict=True))
    return (f'<div class="card" style="border:1px solid {c["rule"]};border-radius:6px;'
            f'padding:8px 12px;background:{c["card"]}">'
            f'<p style="margin:0 0 4px"><span style="background:{bg};color:{fg};'
            f'border-radius:4px;padding:1px 8px;font-weight:bold">{e(status)}</span></p>'
            f'<p style="margin:0 0 4px;font-weight:bold">{e(row[0])}</p>'
            f'<table role="presentation" style="border-collapse:collapse;width:100%">'
            f"{figures}</table></div>")


def _html_bars(bars: list[tuple[dt.date, int | None]]) -> str:
    """The last days as a bar chart scaled to the data's range (the lowest day a short bar,
    the highest a full one), its max and min labelled; days without data are grey stubs."""
    e, c = html.escape, LIGHT
    known = [v for _, v in bars if v is not None]
    lo, hi = (min(known), max(known)) if known else (0, 0)
    cells = []
    for day, v in bars:
        if v is None:
            height, cls, colour = 3, "nodata", c["none"]
        else:
            height = 6 + (round((v - lo) * (BAR_HEIGHT - 6) / (hi - lo)) if hi > lo else 0)
            cls, colour = "bar", c["bar"]
        tip = f"{day_label(day)}: {_usd(v)}"
        cells.append(f'<td style="vertical-align:bottom;padding:0 1px" title="{e(tip)}">'
                     f'<div class="{cls}" style="height:{height}px;background:{colour};'
                     f'width:100%;min-width:4px"></div></td>')
    label = f'class="muted" style="font-size:12px;color:{c["muted"]};white-space:nowrap;'
    axis = (f'<table role="presentation" style="border-collapse:collapse;height:{BAR_HEIGHT}px">'
            f'<tr><td {label}vertical-align:top">max {e(_usd(hi if known else None))}</td></tr>'
            f'<tr><td {label}vertical-align:bottom">min {e(_usd(lo if known else None))}'
            f"</td></tr></table>")
    first, last = bars[0][0], bars[-1][0]
    return (f'<table role="presentation" style="border-collapse:collapse;width:100%;'
            f'table-layout:fixed;margin:4px 0"><tr><td style="width:84px;padding:0">'
            f"{axis}</td>"
            f'<td style="padding:0"><table role="presentation" style="border-collapse:'
            f'collapse;width:100%;table-layout:fixed;height:{BAR_HEIGHT}px"><tr>'
            f'{"".join(cells)}</tr></table></td></tr><tr><td></td>'
            f'<td class="muted" style="font-size:12px;color:{c["muted"]}">'
            f"{e(day_label(first))} .. {e(day_label(last))}</td></tr></table>")


def time_label(t, tz: str) -> str:
    """``Sat 28 Feb 16:00 PST``: the instant ``t`` (a naive time is UTC) on the clock of
    ``tz``; ``no data`` for ``None``."""
    if t is None:
        return "no data"
    local = local_time(t, tz)
    return f"{day_label(local.date())} {local:%H:%M %Z}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


__all__ = [
    "WEBHOOK", "Email", "compose", "compose_grant", "compose_missing", "compose_webhook",
    "day_label", "sparkline", "subject", "time_label", "zone_label",
]
