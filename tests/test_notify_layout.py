"""The morning email's HTML as a phone and a desktop show it, in light and dark mode: laid out
by headless Chromium (the Debian ``chromium`` package; skipped, saying so, when it is absent),
measured in the page and photographed. ``COSTNOTIFY_SHOTS=folder`` keeps the screenshots."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import costlib
from costlib import money
from costlib.notify.config import parse_config
from costlib.notify.digest import LocalSource, gather
from costlib.notify.grants import ENDED, NOT_STARTED, ON_TRACK, OVER, WATCH, Grant, pace
from costlib.notify.message import compose
from costlib.sample import ACCOUNT_NAME, SAMPLE_ACCOUNT, make_bill

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is absent (apt-get install chromium)")
DAY = dt.date(2026, 3, 12)
PACIFIC = "America/Los_Angeles"
TAG = ["user:Owner", "user:Project"]


def month_bill(month: str, **how) -> costlib.Bill:
    data = io.BytesIO(make_bill(month, **how))
    data.name = costlib.bill_name(SAMPLE_ACCOUNT, month).removesuffix(".zip")
    return costlib.read(data)
WIDTHS = {"phone": 420, "desktop": 1200}


def every_status_email():
    """The account email about 12 March 2026 with five grants, one in each status (their
    spend a made-up $10 a day since 1 January, amounts and dates chosen for the status)."""
    config = parse_config({"account": SAMPLE_ACCOUNT, "name": ACCOUNT_NAME, "tag": TAG,
                           "tz": PACIFIC, "top": 4})
    digest = gather(config, DAY, LocalSource(month_bill("2026-02", seed=0), month_bill(
        "2026-03", closed=False, days=20, seed=1)),
                    now=dt.datetime(2026, 3, 25, tzinfo=dt.UTC))
    daily = {dt.date(2026, 1, 1) + dt.timedelta(days=k): 10 * money.UNIT for k in range(71)}
    grants = [Grant("Coral Reef Survey", 10000.0, dt.date(2026, 1, 1), dt.date(2026, 12, 31),
                    ("alice",)),
              Grant("Tide Model", 1700.0, dt.date(2026, 1, 1), dt.date(2026, 6, 30), ("bob",)),
              Grant("Argo Floats <GPU>", 1000.0, dt.date(2026, 1, 1), dt.date(2026, 6, 30),
                    ("chen.wei",)),
              Grant("Kelp Atlas", 2500.0, dt.date(2026, 4, 1), dt.date(2027, 3, 31), ("zoe",)),
              Grant("Old Survey", 300.0, dt.date(2025, 9, 1), dt.date(2026, 3, 5), ("ob",))]
    digest.grants = [pace(g, DAY, daily) for g in grants]
    assert [s.status for s in digest.grants] == [ON_TRACK, WATCH, OVER, NOT_STARTED, ENDED]
    return compose(digest)


PROBE = """<script>
var cards = Array.prototype.map.call(document.querySelectorAll('.card'), function (c) {
  var r = c.getBoundingClientRect(); return {left: r.left, right: r.right}; });
document.body.setAttribute('data-probe', JSON.stringify({
  viewport: window.innerWidth, scroll: document.documentElement.scrollWidth, cards: cards,
  dark: matchMedia('(prefers-color-scheme: dark)').matches,
  background: getComputedStyle(document.querySelector('.wrap')).backgroundColor,
  colour: getComputedStyle(document.querySelector('.wrap')).color}));
</script></body>"""


def chromium(page: Path, width: int, dark: bool, *args: str, height: int = 3000) -> str:
    """Run headless Chromium once on ``page``; its standard output."""
    profile = page.parent / f"profile-{width}-{dark}-{args[0].lstrip('-')[:6]}"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--hide-scrollbars", f"--window-size={width},{height}",
               *(["--force-dark-mode"] if dark else []), *args, page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def measured(tmp_path: Path, page_html: str, width: int, dark: bool) -> dict:
    """What the page looks like to Chromium at ``width``: its scroll width, the cards'
    positions, the colour scheme and the colours in force."""
    page = tmp_path / f"probe-{width}-{dark}.html"
    page.write_text(page_html.replace("</body>", PROBE))
    dom = chromium(page, width, dark, "--dump-dom")
    probe = re.search(r'data-probe="([^"]*)"', dom).group(1)
    return json.loads(probe.replace("&quot;", '"'))


@pytest.fixture(scope="module")
def email():
    return every_status_email()


@needs_chromium
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("device", WIDTHS)
def test_nothing_is_cut_off_and_the_grants_stack_on_a_phone(tmp_path, email, device, dark):
    probe = measured(tmp_path, email.html, WIDTHS[device], dark)
    assert probe["scroll"] <= probe["viewport"]  # no column runs off the side
    lefts = {round(c["left"]) for c in probe["cards"]}
    assert len(probe["cards"]) == 5
    if device == "phone":
        assert len(lefts) == 1  # one column of cards
    else:
        assert len(lefts) > 1  # side by side
    assert probe["dark"] is dark
    background = [int(v) for v in re.findall(r"\d+", probe["background"])[:3]]
    text = [int(v) for v in re.findall(r"\d+", probe["colour"])[:3]]
    assert (sum(background) < 3 * 60) is dark and (sum(text) > 3 * 180) is dark


def test_the_html_declares_its_viewport_colours_and_schemes(email):
    page = email.html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert '<meta name="color-scheme" content="light dark">' in page
    assert "prefers-color-scheme: dark" in page and "max-width: 480px" in page
    body = re.search(r"<body style=\"([^\"]*)\"", page).group(1)
    assert "background:#ffffff" in body and "color:#1a1a1a" in body
    assert re.search(r'class="big" style="font-size:36px', page)
    for status in ("on track", "watch", "over", "not started", "ended"):
        assert f">{status}</span>" in page  # each card opens with its status
    assert "Argo Floats &lt;GPU&gt;" in page and "<GPU>" not in page
    assert ">max $" in page and ">min $" in page  # the chart's range is labelled


@needs_chromium
def test_screenshots_of_the_email_at_420_and_1200_px_light_and_dark(tmp_path, email):
    """Four screenshots, kept in COSTNOTIFY_SHOTS when set, to look at; here their corners
    are checked for the scheme's background."""
    from matplotlib.image import imread

    folder = Path(os.environ.get("COSTNOTIFY_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page = tmp_path / "email.html"
    page.write_text(email.html)
    for device, width in WIDTHS.items():
        for dark in (False, True):
            shot = folder / f"email-{device}-{width}-{'dark' if dark else 'light'}.png"
            chromium(page, width, dark, f"--screenshot={shot}",
                     height=3000 if device == "phone" else 1900)
            pixels = imread(shot)
            assert pixels.shape[1] == width
            corner = float(pixels[5, 5, :3].mean())
            assert (corner < 0.25) is dark, (shot.name, corner)
