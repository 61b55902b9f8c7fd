"""gameflow.experiments: the command-line interface, the demo and reproducible experiments."""

from .cli import main

__all__ = ["main"]
