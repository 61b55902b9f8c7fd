"""gameflow: training dynamics of adversarial games as vector fields.

The package has three parts, imported on first use so that ``import
gameflow`` stays cheap:

- [`gameflow.flows`][]: games as vector fields, continuous flows, local analysis;
- [`gameflow.solvers`][]: discrete schemes, their iteration and continuous limits;
- [`gameflow.experiments`][]: the command line, plots, experiments, benchmarks.

(In the source tree this file lives in ``experiments/_root/``: the build
maps it to ``gameflow/__init__.py`` and the three top-level folders to the
subpackages, so the repository keeps its fixed layout and an installed
gameflow adds one name, ``gameflow``, to ``site-packages``.)
"""

from __future__ import annotations

import importlib
from importlib import metadata as _metadata
from typing import Any

try:
    __version__ = _metadata.version("gameflow")
except _metadata.PackageNotFoundError:  # running from an unbuilt tree
    __version__ = "0+unknown"

_SUBPACKAGES = ("flows", "solvers", "experiments")

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'gameflow' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
