"""costnotify, the notify wing: the morning email about yesterday's burn, sent at most once.

    >>> from costlib.notify import demo_config, run
    >>> import io
    >>> run(demo_config(), dry_run=True, out=io.StringIO(), bill=demo_bill()).status
    'dry run'

It imports the core (``costlib.reading``, ``spending``, ``files``, ``timezones``, ...), never the
contest wing, and the core never imports it. Its rooms: :mod:`~costlib.notify.config` (the
settings), :mod:`~costlib.notify.digest` (the numbers), :mod:`~costlib.notify.grants` (pace and
the cache of closed months), :mod:`~costlib.notify.message` (text and HTML),
:mod:`~costlib.notify.send` (SES, SNS and the sent markers), :mod:`~costlib.notify.morning`
(the run), :mod:`~costlib.notify.lambda_handler` (the Lambda).
"""

from __future__ import annotations

from .config import Config, ConfigError, demo_config, load_config, parse_config
from .digest import demo_bill
from .morning import Outcome, cli_main, metric_line, report_day, run

__all__ = ["Config", "ConfigError", "Outcome", "cli_main", "demo_bill", "demo_config",
           "load_config", "metric_line", "parse_config", "report_day", "run"]
