"""``python -m tests.chaos``: chaos runs against the local stack (`ccmon stack up`), one per
seed, each on topics and an app id of its own; exit 1 when any run was not exact."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from stream_app.kafka_admin import ensure_topics_of
from stream_app.settings import Settings
from tests.chaos.harness import Plan, namespaced, run
from tests.conftest import delete_topics_of


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    parser.add_argument("--runs", type=int, default=1, help="seeds seed, seed+1, ... (default 1)")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILL + restart of a worker")
    parser.add_argument(
        "--broker-restarts", type=int, default=0, help="SIGKILL + restart of the broker"
    )
    parser.add_argument(
        "--rolling", type=int, default=0, help="SIGTERM restarts of every worker in turn"
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--days", type=int, default=2, help="days of generated traffic")
    parser.add_argument("--contacts-per-day", type=int, default=1850)
    parser.add_argument(
        "--stock-consumer",
        action="store_true",
        help="workers on faust's own consumer, without stream_app.worker.consumer's fixes",
    )
    parser.add_argument(
        "--settle-timeout", type=float, default=300.0, help="seconds to wait for lag 0 (300)"
    )
    parser.add_argument(
        "--broker-down", type=float, default=3.0, help="a killed broker restarts 0.5 s to this"
    )
    parser.add_argument("--keep", action="store_true", help="keep each run's topics and logs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    stack = Settings()
    failed = 0
    for seed in range(args.seed, args.seed + args.runs):
        plan = Plan(
            seed=seed,
            kills=args.kills,
            broker_restarts=args.broker_restarts,
            rolling=args.rolling,
            workers=args.workers,
            days=args.days,
            contacts_per_day=args.contacts_per_day,
            settle_timeout_s=args.settle_timeout,
            broker_down_s=args.broker_down,
            worker_command=("tests.chaos.stock_worker",)
            if args.stock_consumer
            else ("stream_app", "worker"),
        )
        settings = namespaced(stack)
        asyncio.run(ensure_topics_of(settings))
        workdir = Path(tempfile.mkdtemp(prefix=f"ccmon-chaos-{seed}-"))
        try:
            outcome = run(plan, settings, workdir)
        finally:
            if not args.keep:
                asyncio.run(delete_topics_of(settings, settings.app_id.removeprefix("ccmon-")))
        failed += not outcome.exact
        print(outcome.summary(), f"(logs: {workdir})", flush=True)
    print(f"{args.runs - failed} of {args.runs} runs exact")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
