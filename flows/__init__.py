"""gameflow.flows: games as vector fields, continuous flows and local analysis.

Importing this package turns on JAX's float64 mode (``jax_enable_x64``):
eigenvalues checked to 1e-10 need it.  Set ``GAMEFLOW_X64=0`` in the
environment before importing to leave JAX's default precision alone.
"""

import os as _os

import jax as _jax

if _os.environ.get("GAMEFLOW_X64", "1") != "0":
    _jax.config.update("jax_enable_x64", True)

from .analysis import (  # noqa: E402
    CLASSES,
    Analysis,
    analyze,
    classify,
    eigenvalues,
    field_of,
    flat_field,
    jacobian,
    residual,
    spectral_abscissa,
)
from .consensus import ConsensusGame, consensus_field  # noqa: E402
from .duality import DualityGap, duality_gap  # noqa: E402
from .duality_gap_flow import DualityGapFlow  # noqa: E402
from .eigs import (  # noqa: E402
    NashCheck,
    PlayerHessian,
    TopEigen,
    has_losses,
    linear_top_eigenvalues,
    player_hessian_extremes,
    top_eigenvalues,
)
from .equilibrium import Equilibrium, find_equilibrium  # noqa: E402
from .fixed_time import FixedTimeFlow, radial_settling_time  # noqa: E402
from .flow import ConsensusFlow, Flow, GradientFlow, TimescaleFlow  # noqa: E402
from .flow_index import FLOWS, make_flow  # noqa: E402
from .game import FieldGame, Game, GeneralGame, ZeroSumGame, box, default_start  # noqa: E402
from .games import (  # noqa: E402,E501
    MMDGAN,
    NTKGAN,  # noqa: E402
    UDA,  # noqa: E402
    Bilinear,
    CriticGAN,
    DiracGAN,
    EntropicWGAN,  # noqa: E402
    ExpGAN,
    GaussianGAN,
    MinMaxTest,  # noqa: E402
    MMDFlow,
    NeuralGAN,  # noqa: E402
    Quadratic,
    TeamPennies,  # noqa: E402
    random_matrix,
)
from .games.matrix_game import MatrixGame, kl_to, project_simplex, solve_equilibrium  # noqa: E402
from .gaussian_ot import bures_wasserstein2, entropic_ot, sinkhorn_gaussian  # noqa: E402
from .kernels import KERNELS, Kernel, energy_distance, kernel_sums, mmd2, sinkhorn_divergence, witness  # noqa: E402
from .ntk import NTK, NTKMLP, empirical_ntk, ntk_mmd2  # noqa: E402
from .params import Param, param  # noqa: E402
from .particles import mode_coverage, sample_target  # noqa: E402
from .registry import GAMES, describe_games, game_class, is_user_game, make_game  # noqa: E402
from .replicator import ReplicatorFlow, replicator_field  # noqa: E402
from .state import State, check_state, ravel_field, ravel_state, state_from_vector, state_size  # noqa: E402
from .timescale import abscissa_at_ratio, critical_ratio  # noqa: E402

__all__ = [
    "CLASSES", "FLOWS", "GAMES", "KERNELS", "Analysis", "Bilinear", "ConsensusFlow", "ConsensusGame", "CriticGAN",
    "DiracGAN", "DualityGap", "ExpGAN", "GaussianGAN", "Kernel", "MMDFlow", "MMDGAN", "energy_distance", "kernel_sums",
    "mmd2", "mode_coverage", "sample_target", "sinkhorn_divergence", "witness",
    "Equilibrium", "FieldGame", "box", "default_start", "Flow", "Game", "param", "game_class", "GeneralGame",
    "GradientFlow", "Param",
    "Quadratic", "State", "TimescaleFlow", "ZeroSumGame", "abscissa_at_ratio", "analyze",
    "check_state", "classify", "critical_ratio", "describe_games", "duality_gap", "eigenvalues",
    "consensus_field", "field_of", "find_equilibrium", "flat_field", "is_user_game", "jacobian", "make_flow",
    "make_game", "random_matrix", "ravel_field", "ravel_state", "residual", "spectral_abscissa",
    "state_from_vector", "state_size",
    "NashCheck", "PlayerHessian", "TopEigen", "has_losses", "linear_top_eigenvalues", "player_hessian_extremes",
    "top_eigenvalues", "DualityGapFlow", "FixedTimeFlow", "radial_settling_time",
    "TeamPennies", "MinMaxTest", "NeuralGAN", "UDA",
    "NTKGAN", "NTK", "NTKMLP", "empirical_ntk", "ntk_mmd2",
    "EntropicWGAN", "bures_wasserstein2", "entropic_ot", "sinkhorn_gaussian",
    "MatrixGame", "kl_to", "project_simplex", "solve_equilibrium", "ReplicatorFlow", "replicator_field",
]
