"""Committed generated files (rules, dashboards): write the stale ones, or report them (--check).

Shared by ``python -m stream_app.alerting`` and ``python -m stream_app.dashboards`` so both
generators behave the same and a stale file fails CI the same way.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from stream_app.alerting.config import CONFIG_PATH, ConfigError, KpiTargets, load


def stale_files(root: Path, files: dict[Path, str]) -> list[Path]:
    """The generated files whose committed text under ``root`` differs (or is missing)."""
    return [
        relative
        for relative, text in files.items()
        if not (root / relative).is_file() or (root / relative).read_text() != text
    ]


def write_or_check(root: Path, files: dict[Path, str], *, check: bool, command: str) -> int:
    """Write the stale files (exit 0), or with ``check`` only name them (exit 1 if any)."""
    stale = stale_files(root, files)
    if check:
        for relative in stale:
            print(f"stale: {relative} (run: {command})", file=sys.stderr)
        return 1 if stale else 0
    for relative in stale:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[relative])
        print(f"wrote {relative}")
    if not stale:
        print("all generated files are up to date")
    return 0


def generator_main(
    argv: Sequence[str] | None,
    *,
    module: str,
    description: str,
    generate: Callable[[KpiTargets], dict[Path, str]],
    root: Path,
) -> int:
    """The command line of ``python -m <module>``: render the targets file into the generated
    files, or ``--check`` them. Exit codes: 0 up to date (or written), 1 stale, 2 bad config."""
    command = f"python -m {module}"
    parser = argparse.ArgumentParser(prog=command, description=description)
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if any generated file is missing or stale",
    )
    parser.add_argument(
        "--config", type=Path, default=CONFIG_PATH, help=f"configuration (default {CONFIG_PATH})"
    )
    parser.add_argument(
        "--root", type=Path, default=root, help="repository root the files are written under"
    )
    args = parser.parse_args(argv)
    try:
        files = generate(load(args.config))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return write_or_check(args.root, files, check=args.check, command=command)
