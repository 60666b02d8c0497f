"""``python -m stream_app.dashboards``: regenerate the dashboard JSON, or ``--check`` it is fresh.

Independent of the ``ccmon`` CLI so that CI and a pre-commit hook need nothing but the package.
Exit codes: 0 up to date (or written), 1 stale (``--check``), 2 invalid configuration.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from stream_app.dashboards import REPO_ROOT, generate
from stream_app.generated import generator_main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator; returns the exit code."""
    return generator_main(
        argv,
        module="stream_app.dashboards",
        description="Write the Grafana dashboards (grafana/dashboards/<uid>.json), with the "
        "targets and warning levels of deploy/kpi-targets.yaml.",
        generate=generate,
        root=REPO_ROOT,
    )


if __name__ == "__main__":
    sys.exit(main())
