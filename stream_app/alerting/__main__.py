"""``python -m stream_app.alerting``: regenerate the rule files, or ``--check`` that they are fresh.

Independent of the ``ccmon`` CLI so that CI and a pre-commit hook need nothing but the package.
Exit codes: 0 up to date (or written), 1 stale (``--check``), 2 invalid configuration.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from stream_app.alerting.config import REPO_ROOT
from stream_app.alerting.render import generate
from stream_app.generated import generator_main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator; returns the exit code."""
    return generator_main(
        argv,
        module="stream_app.alerting",
        description="Render deploy/kpi-targets.yaml into the Prometheus recording and alert "
        "rules and the Grafana alert provisioning.",
        generate=generate,
        root=REPO_ROOT,
    )


if __name__ == "__main__":
    sys.exit(main())
