"""ccmon's benchmark harness: ``make bench`` or ``python -m bench --help``.

Measures, on one broker and one pre-loaded data set, a plain consumer's ceiling, the real
worker, an idiomatic Quix Streams peer, end-to-end latency at fixed rates, scrape cost and
scale-out, and writes ``docs/performance.md``. Benchmarks report figures; they never fail a
build on a slow machine.
"""
