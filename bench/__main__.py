"""``python -m bench``: run the benchmark harness (see :mod:`bench.run`)."""

from bench.run import main

main()
