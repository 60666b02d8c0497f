"""``python -m stream_app.alerting``: regenerate the rule files, or ``--check`` that they are fresh.

Independent of the ``ccmon`` CLI so that CI and a pre-commit hook need nothing but the package.
Exit codes: 0 up to date (or written), 1 stale (``--check``), 2 invalid configuration.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from stream_app.alerting.config import CONFIG_PATH, REPO_ROOT, ConfigError, load
from stream_app.alerting.render import generate
from stream_app.generated import write_or_check


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m stream_app.alerting",
        description="Render deploy/kpi-targets.yaml into the Prometheus recording and alert "
        "rules and the Grafana alert provisioning.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if any generated file is missing or stale",
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
        args.root, files, check=args.check, command="python -m stream_app.alerting"
    )


if __name__ == "__main__":
    sys.exit(main())
