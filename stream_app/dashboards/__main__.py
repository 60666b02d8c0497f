"""``python -m stream_app.dashboards``: regenerate the dashboard JSON, or ``--check`` it is fresh.

Independent of the ``ccmon`` CLI so that CI and a pre-commit hook need nothing but the package.
Exit codes: 0 up to date (or written), 1 stale (``--check``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from stream_app.dashboards import REPO_ROOT, generate


def stale_files(root: Path, files: dict[Path, str]) -> list[Path]:
    """The generated files whose committed text under ``root`` differs (or is missing)."""
    return [
        relative
        for relative, text in files.items()
        if not (root / relative).is_file() or (root / relative).read_text() != text
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m stream_app.dashboards",
        description="Write the Grafana dashboards (grafana/dashboards/<uid>.json).",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if any dashboard file is missing or stale",
    )
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository root the files are written under"
    )
    args = parser.parse_args(argv)
    files = generate()
    stale = stale_files(args.root, files)
    if args.check:
        for relative in stale:
            print(f"stale: {relative} (run: python -m stream_app.dashboards)", file=sys.stderr)
        return 1 if stale else 0
    for relative in stale:
        path = args.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[relative])
        print(f"wrote {relative}")
    if not stale:
        print("all dashboards are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
