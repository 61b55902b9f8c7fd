"""States of a game: one pytree per player, and how to flatten them.

A state ``z`` is a tuple with one pytree per player.  Leaves may be scalars,
arrays or whole ``equinox`` modules; only inexact (floating) array leaves are
dynamic, everything else (activation functions, integer buffers) is carried
along unchanged.  Analysis works on the flat vector of the dynamic leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

State = tuple[Any, ...]


def ravel_state(z: State) -> tuple[jax.Array, Callable[[jax.Array], State]]:
    """Flatten the dynamic (inexact array) leaves of a state into one vector.

    **Arguments:**

    - `z`: a state, a tuple with one pytree per player.

    **Returns:**

    `(vec, unravel)`: the 1-D vector of all floating leaves, in tree order, and
    the inverse map that rebuilds a state of the same structure from such a
    vector (non-floating leaves are restored unchanged).
    """
    dynamic, static = eqx.partition(z, eqx.is_inexact_array)
    vec, unravel_dynamic = ravel_pytree(dynamic)

    def unravel(v: jax.Array) -> State:
        return eqx.combine(unravel_dynamic(v), static)

    return vec, unravel


def ravel_field(f: Any) -> jax.Array:
    """Flatten a vector field value (same structure as its state) into a vector.

    Non-differentiable leaves appear as ``None`` in a field and are skipped, so
    the ordering matches [`ravel_state`][] of the state.
    """
    dynamic = eqx.filter(f, eqx.is_inexact_array)
    return ravel_pytree(dynamic)[0]


def state_size(z: State) -> int:
    """Number of dynamic scalars in a state (the dimension of the dynamics)."""
    return int(ravel_state(z)[0].size)


def _describe(tree: Any) -> str:
    shapes = jax.tree.map(lambda a: tuple(np.shape(a)), eqx.filter(tree, eqx.is_array_like))
    return str(shapes)


def check_state(z: Any, template: State, *, what: str = "state") -> State:
    """Check that `z` has the structure and leaf shapes of `template`.

    **Arguments:**

    - `z`: the candidate state.
    - `template`: a state of the right structure (e.g. ``game.template()``).
    - `what`: how to name `z` in error messages.

    **Returns:**

    `z` with its floating leaves converted to arrays of the template's dtype.

    **Raises:**

    `ValueError` naming the mismatch (number of players, tree structure, a
    leaf's shape) or a non-finite entry.
    """
    if not isinstance(z, tuple):
        raise ValueError(f"{what} must be a tuple with one entry per player, got {type(z).__name__}")
    if len(z) != len(template):
        raise ValueError(f"{what} has {len(z)} players, the game has {len(template)}")
    t_dyn = eqx.filter(template, eqx.is_inexact_array)
    t_leaves, t_def = jax.tree.flatten(t_dyn)
    z_dyn = eqx.filter(z, eqx.is_array_like)
    z_leaves, z_def = jax.tree.flatten(z_dyn)
    if t_def != z_def:
        raise ValueError(
            f"{what} has structure {_describe(z)}, expected {_describe(template)}"
        )
    out = []
    for i, (a, t) in enumerate(zip(z_leaves, t_leaves)):
        a = jnp.asarray(a, dtype=t.dtype)
        if a.shape != t.shape:
            raise ValueError(f"{what} leaf {i} has shape {a.shape}, expected {t.shape}")
        if not isinstance(a, jax.core.Tracer) and not bool(jnp.all(jnp.isfinite(a))):
            raise ValueError(f"{what} leaf {i} is not finite: {np.asarray(a).tolist()}")
        out.append(a)
    dyn = jax.tree.unflatten(t_def, out)
    _, static = eqx.partition(template, eqx.is_inexact_array)
    return eqx.combine(dyn, static)


def state_from_vector(values: Any, template: State, *, what: str = "point") -> State:
    """Build a state from a flat list of numbers laid out like `template`.

    **Raises:**

    `ValueError` when the length differs from the game's dimension or an
    entry is not finite.
    """
    vec0, unravel = ravel_state(template)
    arr = np.asarray(values, dtype=float).reshape(-1)
    if arr.size != vec0.size:
        raise ValueError(f"{what} has {arr.size} entries, the game's state has {vec0.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} is not finite: {arr.tolist()}")
    return unravel(jnp.asarray(arr, dtype=vec0.dtype))
