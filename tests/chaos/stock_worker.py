"""A ccmon worker on faust's stock aiokafka consumer, without stream_app.worker.consumer's
fixes: ``python -m tests.chaos --stock-consumer`` shows what they fix (issue 13's A/B run)."""

from __future__ import annotations

import sys

import faust

from stream_app.cli import main
from stream_app.worker.app import CcmonApp

if __name__ == "__main__":
    CcmonApp._new_transport = faust.App._new_transport  # type: ignore[method-assign]
    sys.argv = ["ccmon", "worker"]
    main()
