"""Radial kernels, blocked kernel sums, and the discrepancies built on them.

Every kernel here is radial, ``k(x, y) = φ(|x - y|²)``, so its gradient in
``x`` is ``2 φ'(|x - y|²) (x - y)`` and one pass over the pairs gives both a
kernel sum and its gradient:

    s_i = Σ_j w_j k(x_i, y_j),        g_i = Σ_j w_j ∇_x k(x_i, y_j)
        = 2 (x_i Σ_j w_j φ'_ij - Σ_j w_j φ'_ij y_j).

[`kernel_sums`][] evaluates them a block of pairs at a time under
``lax.map``: rows of ``x`` in blocks against all ``y``, so memory stays
``O(block)`` and never ``N × M``: ``N = 10⁵`` particles in 2-D fit on a laptop.
Differences are formed coordinate by coordinate (not ``|x|² + |y|² - 2x·y``)
and the gradient is summed from them, so nearby points keep full relative
accuracy and blocked and dense sums agree to rounding.  A block is either one
fused multi-output reduction (one kernel evaluation per pair feeds every sum;
inside gameflow's compiled entry points, see ``flows.compile``) or kernel
matrices times the weights (elsewhere); derivatives of any order go through
the second.

References: A. Gretton et al., "A kernel two-sample test", JMLR 2012 (MMD);
G. Székely, M. Rizzo, "Energy statistics", 2013 (energy distance as the MMD of
the kernel ``-|x - y|``).
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp

from .compile import fused_reductions, jit

KERNELS = ("gaussian", "imq", "energy")
BLOCK = 2**20


class Kernel(eqx.Module):
    """A radial kernel ``k(x, y) = φ(|x - y|²)``.

    **Arguments:**

    - `name`: ``gaussian`` ``exp(-r²/(2 s²))``; ``imq`` (inverse multiquadric)
      ``s / sqrt(s² + r²)``; ``energy`` ``-r`` (conditionally positive
      definite: its MMD² is the energy distance).
    - `scale`: the bandwidth ``s`` (> 0; unused by ``energy``).
    """

    name: str = eqx.field(static=True)
    scale: float = 1.0

    def __check_init__(self):
        if self.name not in KERNELS:
            raise ValueError(f"kernel {self.name!r} is not one of {', '.join(KERNELS)}")
        if not isinstance(self.scale, jax.core.Tracer) and not (
            math.isfinite(float(self.scale)) and float(self.scale) > 0
        ):
            raise ValueError(f"kernel scale={self.scale} must be positive and finite")

    def profile(self, r2: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(φ(r²), φ'(r²))`` elementwise; the energy kernel's φ' is 0 at r = 0."""
        s = jnp.asarray(self.scale, r2.dtype)
        if self.name == "gaussian":
            k = jnp.exp(r2 * (-0.5 / (s * s)))
            return k, k * (-0.5 / (s * s))
        if self.name == "imq":
            inv = jax.lax.rsqrt(s * s + r2)
            k = s * inv
            return k, -0.5 * k * inv * inv
        # energy: φ = -sqrt(r²); the subgradient 0 at coincident points keeps
        # the self-interaction of a particle out of its own velocity.
        pos = r2 > 0
        r = jnp.sqrt(jnp.where(pos, r2, 1.0))
        return jnp.where(pos, -r, 0.0), jnp.where(pos, -0.5 / r, 0.0)

    def __call__(self, x: jax.Array, y: jax.Array) -> jax.Array:
        """``k(x, y)`` for two points of the same shape."""
        return self.profile(jnp.sum((x - y) ** 2))[0]


def _pad(a: jax.Array, n: int, axis: int = 0) -> jax.Array:
    extra = (-a.shape[axis]) % n
    if extra == 0:
        return a
    widths = [(0, 0)] * a.ndim
    widths[axis] = (0, extra)
    return jnp.pad(a, widths)


def _differences(xb, yb):
    # Coordinate differences and squared distances in one fused elementwise
    # pass; exact for coincident points (no |x|² + |y|² - 2x·y cancellation).
    diffs = [xb[:, c][:, None] - yb[:, c][None, :] for c in range(xb.shape[1])]
    d2 = 0.0
    for dc in diffs:
        d2 = d2 + dc * dc
    return diffs, d2


def _matmul_block(kernel: Kernel, xb, yb, wb, grad: bool):
    """One block as kernel matrices times the weights (differentiable; fast under any compiler options)."""
    diffs, d2 = _differences(xb, yb)
    k, dk = kernel.profile(d2)
    s = k @ wb
    if not grad:
        return s, None
    # g_i = 2 Σ_j w_j φ'_ij (x_i - y_j), from the differences (x_i Σ φ' - Σ φ' y_j would cancel where φ'
    # is large); for the Gaussian φ' = -φ/(2 s²), so the kernel matrix serves the gradient too.
    a, scale = (k, -1.0 / (kernel.scale * kernel.scale)) if kernel.name == "gaussian" else (dk, 2.0)
    return s, scale * jnp.stack([(a * dc) @ wb for dc in diffs], axis=1)


def _fused_block(kernel: Kernel, xb, yb, wb, grad: bool):
    """One block as a single fused pass: one kernel evaluation per pair feeds every sum at once.

    The gradient sums ``Σ_j w_j φ'_ij (x_i - y_j)`` directly from the differences, which avoids the
    cancellation of the matrix form's ``x_i Σ φ' - Σ φ' y_j`` (large where φ' is, near the energy
    kernel's singular point).
    """
    if kernel.name == "gaussian":
        # In units of s√2 the kernel is exp(-r²): no scaling inside the loop;
        # ∇ₓk = -(x - y) k / s² = -(√2 / s) (x' - y') k, applied after the sums.
        unit = 1.0 / (math.sqrt(2.0) * kernel.scale)
        diffs, d2 = _differences(xb * unit, yb * unit)
        k = jnp.exp(-d2)
        wa, factor = k * wb, -math.sqrt(2.0) / kernel.scale
    else:
        diffs, d2 = _differences(xb, yb)
        k, dk = kernel.profile(d2)
        wa, factor = dk * wb, 2.0
    ops = [k * wb] + ([wa * dc for dc in diffs] if grad else [])
    zeros = tuple(jnp.zeros((), k.dtype) for _ in ops)
    sums = jax.lax.reduce(tuple(ops), zeros, lambda p, q: tuple(u + v for u, v in zip(p, q)), (1,))
    return sums[0], (factor * jnp.stack(sums[1:], axis=1) if grad else None)


def _blocked(pair_block, kernel, X, Y, w, grad: bool, rows: int):
    n, d = X.shape
    if rows >= n:
        return pair_block(kernel, X, Y, w, grad)
    # Padded rows are evaluated and dropped; lax.map runs the blocks in turn.
    Xp = _pad(X, rows).reshape(-1, rows, d)
    s, g = jax.lax.map(lambda xb: pair_block(kernel, xb, Y, w, grad), Xp)
    return s.reshape(-1)[:n], (g.reshape(-1, d)[:n] if grad else None)


@functools.partial(jax.custom_jvp, nondiff_argnums=(4, 5))
def _fused_sums(kernel, X, Y, w, grad: bool, rows: int):
    return _blocked(_fused_block, kernel, X, Y, w, grad, rows)


@_fused_sums.defjvp
def _fused_sums_jvp(grad, rows, primals, tangents):
    # JAX has no derivative rule for a multi-operand lax.reduce: derivatives (of any
    # order) go through the kernel-matrix form, which computes the same sums.
    out = _fused_sums(*primals, grad, rows)
    _, dout = jax.jvp(lambda *p: _blocked(_matmul_block, *p, grad, rows), primals, tangents)
    return out, dout


@jit
def kernel_sums(
    kernel: Kernel,
    X: jax.Array,
    Y: jax.Array,
    w: jax.Array | None = None,
    *,
    grad: bool = False,
    block: int | None = BLOCK,
    fused: bool | None = None,
) -> tuple[jax.Array, jax.Array | None]:
    """Weighted kernel sums over all pairs, in blocks of rows.

    **Arguments:**

    - `kernel`: the [`Kernel`][].
    - `X`: ``(N, d)`` evaluation points; `Y`: ``(M, d)`` centres.
    - `w`: ``(M,)`` weights (default ``1/M`` each: the mean over `Y`).
    - `grad`: also return the gradients in ``x``.
    - `block`: how many pairs to form at once: rows of `X` go in blocks of
      ``max(1, block // M)`` against all of `Y`, so memory is ``O(block)``
      (default ``2²⁰`` pairs: 8 MiB per matrix in float64 in the matrix form;
      the fused form forms none); ``None`` forms all ``N × M`` pairs at once
      (dense).
    - `fused`: evaluate each block as one fused multi-output reduction
      (``True``) or as kernel matrices times the weights (``False``); the
      default follows ``flows.compile.fused_reductions()``: fused inside
      gameflow's compiled entry points, whose compiler options make it fast
      (see ``flows.compile``).  Both give the same sums to rounding, and both
      differentiate to any order.

    **Returns:**

    ``(s, g)``: ``s`` of shape ``(N,)`` and, when `grad`, ``g`` of shape
    ``(N, d)`` (else ``None``).
    """
    X = jnp.asarray(X)
    Y = jnp.asarray(Y, X.dtype)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise ValueError(f"kernel_sums: X {X.shape} and Y {Y.shape} must be (N, d) and (M, d) with the same d")
    n, m = X.shape[0], Y.shape[0]
    w = jnp.full((m,), 1.0 / m, X.dtype) if w is None else jnp.asarray(w, X.dtype)
    if block is not None and block < 1:
        raise ValueError(f"kernel_sums: block={block} must be >= 1")
    rows = n if block is None else max(1, min(n, block // m))
    if fused_reductions() if fused is None else fused:
        return _fused_sums(kernel, X, Y, w, bool(grad), rows)
    return _blocked(_matmul_block, kernel, X, Y, w, bool(grad), rows)


def _weights_pair(X, Y):
    return jnp.full((X.shape[0],), 1.0 / X.shape[0], X.dtype), jnp.full((Y.shape[0],), 1.0 / Y.shape[0], X.dtype)


@jit
def mmd2(kernel: Kernel, X: jax.Array, Y: jax.Array, *, block: int | None = BLOCK) -> jax.Array:
    """Squared maximum mean discrepancy between two equally weighted samples.

    The V-statistic ``mean k(X, X) + mean k(Y, Y) - 2 mean k(X, Y)``: the
    quantity whose particle gradient is the MMD flow's velocity.  It is zero
    for identical samples, symmetric, and non-negative up to rounding for the
    positive definite kernels (and for ``energy``, whose MMD² is the energy
    distance).

    **Arguments:**

    - `kernel`, `X` ``(N, d)``, `Y` ``(M, d)``, `block` as in [`kernel_sums`][].

    **Returns:**

    A scalar.
    """
    X = jnp.asarray(X)
    Y = jnp.asarray(Y, X.dtype)
    wx, wy = _weights_pair(X, Y)
    sxx = kernel_sums(kernel, X, X, wx, block=block)[0]
    syy = kernel_sums(kernel, Y, Y, wy, block=block)[0]
    sxy = kernel_sums(kernel, X, Y, wy, block=block)[0]
    return wx @ sxx + wy @ syy - 2.0 * (wx @ sxy)


def energy_distance(X: jax.Array, Y: jax.Array, *, block: int | None = BLOCK) -> jax.Array:
    """Energy distance ``2 E|X - Y| - E|X - X'| - E|Y - Y'|`` (V-statistic)."""
    return mmd2(Kernel("energy"), X, Y, block=block)


def witness(kernel: Kernel, X: jax.Array, Y: jax.Array, T: jax.Array, *, grad: bool = False,
            block: int | None = BLOCK) -> tuple[jax.Array, jax.Array | None]:
    """The MMD witness ``f(t) = mean_i k(t, x_i) - mean_j k(t, y_j)`` at points `T`.

    ``f`` is the first variation of ``½ MMD²(μ_X, ν_Y)`` in ``μ``; the MMD
    flow moves each particle along ``-∇f``.

    **Returns:**

    ``(f(T), ∇f(T))`` (the gradient only when `grad`).
    """
    X = jnp.asarray(X)
    Y = jnp.asarray(Y, X.dtype)
    # One pass over both samples: centres [X; Y] with weights [1/N; -1/M].
    Z = jnp.concatenate([X, Y])
    w = jnp.concatenate([jnp.full((X.shape[0],), 1.0 / X.shape[0], X.dtype),
                         jnp.full((Y.shape[0],), -1.0 / Y.shape[0], X.dtype)])
    return kernel_sums(kernel, jnp.asarray(T, X.dtype), Z, w, grad=grad, block=block)


@functools.partial(jax.jit, static_argnames="epsilon")
def sinkhorn_divergence(X: jax.Array, Y: jax.Array, epsilon: float = 0.05) -> jax.Array:
    """Debiased Sinkhorn divergence (squared Euclidean cost) between two samples.

    Computed with ott-jax (jit-compiled; one compilation per shape and
    `epsilon`); ``epsilon`` is the entropic regularization, in units of the
    squared Euclidean cost.

    References: J. Feydy et al., "Interpolating between optimal transport and
    MMD using Sinkhorn divergences", AISTATS 2019.
    """
    from ott.geometry import pointcloud
    from ott.tools import sinkhorn_divergence as sd

    out = sd.sinkhorn_divergence(pointcloud.PointCloud, jnp.asarray(X), jnp.asarray(Y, jnp.asarray(X).dtype),
                                 epsilon=epsilon)
    return out[0] if isinstance(out, tuple) else out.divergence
