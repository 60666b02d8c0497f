"""``python -m stream_app`` is the ``ccmon`` command."""

from stream_app.cli import main

main()
