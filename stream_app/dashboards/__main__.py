"""``python -m stream_app.dashboards``: regenerate the dashboard JSON, or ``--check`` it is fresh.

Independent of the ``ccmon`` CLI so that CI and a pre-commit hook need nothing but the package.
Exit codes: 0 up to date (or written), 1 stale (``--check``), 2 invalid configuration.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from stream_app.alerting.config import CONFIG_PATH, ConfigError, load
from stream_app.dashboards import REPO_ROOT, generate
from stream_app.generated import write_or_check


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m stream_app.dashboards",
        description="Write the Grafana dashboards (grafana/dashboards/<uid>.json), with the "
        "targets and warning levels of deploy/kpi-targets.yaml.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if any dashboard file is missing or stale",
    )
    parser.add_argument(
        "--config", type=Path, default=CONFIG_PATH, help=f"configuration (default {CONFIG_PATH})"
    )
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository root the files are written under"
    )
    args = parser.parse_args(argv)
    try:
        files = generate(load(args.config))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return write_or_check(
        args.root, files, check=args.check, command="python -m stream_app.dashboards"
    )


if __name__ == "__main__":
    sys.exit(main())
