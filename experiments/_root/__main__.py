"""``python -m gameflow`` is the ``gameflow`` command."""

from gameflow.experiments.cli import main

raise SystemExit(main())
