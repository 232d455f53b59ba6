"""Write the practice month's expected answers beside its bill, for ``contest.check()``.

    python tools/make_practice_answers.py           # costlib/data/<bill>.answers.json
    python tools/make_practice_answers.py --check   # exit 1 when it is stale or missing

Only the bundled practice month gets them: graded months are months nobody has seen, and
the hand-in module itself holds no answer (it reads this file).
"""

from __future__ import annotations

import argparse
import json
import sys

import costlib
from costlib.contest import practice_answers_path
from costlib.contest.answers import practice_record, write_practice_answers


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the shipped practice answers; 1 when stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is stale")
    args = parser.parse_args(argv)
    bill = costlib.sample_path()
    target = practice_answers_path(bill)
    if args.check:
        try:
            shipped = json.loads(target.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            shipped = None
        if shipped != practice_record(bill):
            print(f"{target.name} is stale or missing: python tools/make_practice_answers.py")
            return 1
        print(f"{target.name} is up to date")
        return 0
    print(write_practice_answers(bill))
    return 0


if __name__ == "__main__":
    sys.exit(main())
