"""How gameflow compiles its own entry points, and the kernel-sum formulation that follows.

XLA's CPU backend keeps a floating-point sum in source order unless it may
reassociate, and LLVM cannot vectorize a reduction it may not reorder.  The
kernel sums of particle games are exactly such reductions (one exponential
and a few products per pair, summed along a row): with reassociation allowed
a one-pass fused reduction runs about 1.5x faster than a kernel matrix
multiplied by the weights, and without it about 2.5x slower (`gameflow
bench`, particle section).

So gameflow's jitted entry points ([`jit`][] below: the solvers, the local
analysis, the discrepancies) compile with :data:`COMPILER_OPTIONS`, which
allow reassociation and FMA contraction but keep NaN, infinity, division and
library functions (``exp``, ``sqrt``) exact, so results change at the
rounding level only and divergence is still detected.  (Reassociation does
break code that relies on the order of operations, such as compensated
summation or a Cody-Waite range reduction: gameflow has none; do not pass
such code through [`jit`][].)  While tracing such an
entry point, [`fused_reductions`][] is true and the kernel sums use their
fused form; anywhere else (a user's own ``jax.jit``) they use the kernel
matrix times the weights, which is fast under any options.  Options given to
``jax.jit`` apply to one executable and never leak into a user's programs.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax

# XLA DebugOptions for one executable: "fast math" minus everything that is
# not a reordering (NaN and infinity semantics, exact division and functions).
COMPILER_OPTIONS: dict[str, Any] = {
    "xla_cpu_enable_fast_math": True,
    "xla_cpu_fast_math_honor_nans": True,
    "xla_cpu_fast_math_honor_infs": True,
    "xla_cpu_fast_math_honor_division": True,
    "xla_cpu_fast_math_honor_functions": True,
    # 512-bit vectors where the CPU has them (LLVM falls back to what it has).
    "xla_cpu_prefer_vector_width": 512,
}

_FUSED = contextvars.ContextVar("gameflow_fused_reductions", default=False)


def fused_reductions() -> bool:
    """Whether the computation being traced is compiled with :data:`COMPILER_OPTIONS`."""
    return _FUSED.get()


def _inside_trace(args, kwargs) -> bool:
    if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves((args, kwargs))):
        return True
    # Arguments may all be concrete inside a trace (closed-over arrays); but
    # under a staging trace (jit, scan, ...) every new array is a tracer.
    return isinstance(jax.lax.full((), 0), jax.core.Tracer)


def jit(fun: Callable | None = None, **jitkwargs) -> Callable:
    """``eqx.filter_jit`` with gameflow's compiler options and fused kernel sums.

    Called at the top level, `fun` is compiled with :data:`COMPILER_OPTIONS`
    and traced with [`fused_reductions`][] true.  Called inside another trace
    (a user's ``jax.jit``, ``vmap`` or ``grad``), `fun` goes through a plain
    ``eqx.filter_jit`` (inlined into an enclosing jit): the enclosing
    compilation decides the options, so the formulation is left as the
    enclosing trace chose it.

    **Arguments:**

    - `fun`: the function (or use ``@jit`` / ``@jit(**jitkwargs)``).
    - `jitkwargs`: passed on to ``eqx.filter_jit`` (e.g. ``donate``).

    **Returns:**

    The compiled function.
    """
    if fun is None:
        return functools.partial(jit, **jitkwargs)

    def traced(*args, **kwargs):
        token = _FUSED.set(True)
        try:
            return fun(*args, **kwargs)
        finally:
            _FUSED.reset(token)

    compiled = eqx.filter_jit(traced, compiler_options=COMPILER_OPTIONS, **jitkwargs)
    # Inside another trace JAX refuses compiler options; a plain jit is inlined
    # into an enclosing jit and still compiles under an eager vmap or grad.
    plain = eqx.filter_jit(fun, **jitkwargs)

    @functools.wraps(fun)
    def call(*args, **kwargs):
        return (plain if _inside_trace(args, kwargs) else compiled)(*args, **kwargs)

    return call
