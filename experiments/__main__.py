"""``python -m experiments`` is the ``gameflow`` command."""

from .cli import main

raise SystemExit(main())
