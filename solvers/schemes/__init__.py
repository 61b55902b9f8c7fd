"""The built-in schemes, one module each; this index is the one list of them.

Adding a scheme is one new module in this folder, whose class declares its
``name``, options and capabilities (see [`Scheme`][]), plus one line below.
"""

from .agda import AGDA
from .anderson import Anderson
from .base import Scheme
from .consensus import Consensus
from .eg import EG
from .momentum import Momentum
from .ogda import OGDA
from .optax_scheme import OPTIMIZERS, Optax
from .sga import SGA
from .sgda import SGDA, TTUR
from .splitting import Splitting

# The index: built-in schemes in the order the command line lists them
# (optax optimizers follow, by name: see OPTIMIZERS).
BUILTIN = (
    SGDA,
    TTUR,
    AGDA,
    EG,
    OGDA,
    Consensus,
    SGA,
    Momentum,
    Anderson,
    Splitting,
)

__all__ = ["AGDA", "BUILTIN", "EG", "OGDA", "OPTIMIZERS", "SGA", "SGDA", "TTUR", "Anderson", "Consensus",
           "Momentum", "Optax", "Scheme", "Splitting"]
