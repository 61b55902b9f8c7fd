"""The built-in games, one module each; this index is the one list of them.

Adding a game is one new module in this folder, whose class declares its
``name``, parameters and capabilities (see [`Game`][]), plus one line below.
"""

from .bilinear import Bilinear, random_matrix
from .critic_gan import CriticGAN
from .dirac_gan import DiracGAN
from .exp_gan import ExpGAN
from .gaussian_gan import GaussianGAN
from .mmd_flow import MMDFlow
from .mmd_gan import MMDGAN
from .quadratic import Quadratic

# The index: built-in games in the order `gameflow games` lists them.
BUILTIN = (
    DiracGAN,
    Bilinear,
    Quadratic,
    ExpGAN,
    MMDFlow,
    CriticGAN,
    MMDGAN,
    GaussianGAN,
)

__all__ = ["BUILTIN", "Bilinear", "CriticGAN", "DiracGAN", "ExpGAN", "GaussianGAN", "MMDFlow", "MMDGAN",
           "Quadratic", "random_matrix"]
