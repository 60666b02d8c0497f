"""The chaos harness: faults during a replay, then exact equality with the reference.

``python -m tests.chaos --help``; docs/engine.md says what it proves and how long runs go.
"""
