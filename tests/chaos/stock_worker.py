"""A ccmon worker on faust's stock aiokafka consumer, without stream_app.kafka_consumer's
fixes: ``python -m tests.chaos --stock-consumer`` shows what they fix (issue 13's A/B run)."""

from __future__ import annotations

import sys

import faust

from stream_app.app import CcmonApp
from stream_app.cli import main

if __name__ == "__main__":
    CcmonApp._new_transport = faust.App._new_transport  # type: ignore[method-assign]
    sys.argv = ["ccmon", "worker"]
    main()
