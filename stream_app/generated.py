"""Committed generated files (rules, dashboards): write the stale ones, or report them (--check).

Shared by ``python -m stream_app.alerting`` and ``python -m stream_app.dashboards`` so both
generators behave the same and a stale file fails CI the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path


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
