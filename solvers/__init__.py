"""gameflow.solvers: discrete schemes, their iteration, their continuous limits.

Imports ``flows`` (never the other way round).
"""

from .compare import CompareRow, Comparison, compare, fit_order
from .integrate import SOLVERS, integrate, integrate_batch
from .iterate import Sweep, iterate, sweep
from .modified import LeadingFlow, ModifiedFlow, continuous_limit, step_map, taylor_coefficients
from .registry import SCHEMES, make_scheme
from .schemes import AGDA, EG, OGDA, OPTAX, SGA, SGDA, Anderson, Consensus, Momentum, Optax, Scheme, Splitting
from .spectrum import (
    MapSpectrum,
    StableRange,
    map_jacobian,
    map_spectrum,
    spectral_radii,
    stability_region,
    stable_range,
)
from .spiral import SpiralStats, spiral_stats, spiral_theory
from .trajectory import STATUS, Trajectory

__all__ = [
    "AGDA", "EG", "OGDA", "OPTAX", "SCHEMES", "SGA", "SGDA", "SOLVERS", "STATUS", "Anderson", "CompareRow",
    "Comparison", "Consensus", "Splitting", "LeadingFlow", "MapSpectrum", "ModifiedFlow", "Momentum", "Optax", "Scheme",
    "StableRange", "Sweep", "Trajectory", "compare", "continuous_limit", "fit_order", "integrate",
    "integrate_batch", "iterate", "make_scheme", "map_jacobian", "map_spectrum", "spectral_radii",
    "SpiralStats", "spiral_stats", "spiral_theory", "stability_region", "stable_range", "step_map", "sweep",
    "taylor_coefficients",
]
