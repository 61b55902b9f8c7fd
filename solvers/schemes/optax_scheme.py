"""Any optax optimizer, run per player on the gradient of its own loss.

The scheme takes an optax *factory*: a callable ``learning_rate -> optax.
GradientTransformation`` (``optax.adam``, or ``functools.partial(optax.adam,
b1=0.5)``), called at each step with the traced learning rate, so the state
holds no learning rate and a sweep over rates does not recompile.  Names
(``adam``, ``rmsprop``, ...) belong to the command line, which maps them to
factories (``OPTIMIZERS``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import equinox as eqx
import jax
import optax
from gameflow.flows.params import Param

from .base import Scheme

# The optimizers the command line offers by name (their keyword options pass through).
OPTIMIZERS: dict[str, Callable[..., optax.GradientTransformation]] = {
    "adam": optax.adam,
    "rmsprop": optax.rmsprop,
    "sgd": optax.sgd,
    "oadam": optax.optimistic_adam_v2,
    "ogd": optax.optimistic_gradient_descent,
}


# Declared ranges of the optax options the named optimizers share (others pass through unchecked).
OPTIONS: tuple[Param, ...] = (
    Param("b1", "float", 0.9, "decay of the first moment", low=0, high=1, strict=False),
    Param("b2", "float", 0.999, "decay of the second moment", low=0, high=1, strict=False),
    Param("eps", "float", 1e-8, "added to the denominator", low=0),
    Param("decay", "float", 0.9, "decay of the squared-gradient average (rmsprop)", low=0, high=1),
    Param("momentum", "float", 0.0, "momentum (sgd, rmsprop)", low=0, high=1),
)


class Optax(Scheme):
    """Any optax optimizer per player (its factory takes the learning rate).

    **Arguments:**

    - `factory`: ``learning_rate -> optax.GradientTransformation``.
    - `label`: a name for reports (default: the factory's name).
    - `rates`: per-player multipliers of the learning rate.
    """

    factory: Callable[..., optax.GradientTransformation] = eqx.field(static=True, default=optax.adam)
    label: str = eqx.field(static=True, default="")
    name: ClassVar[str] = "optax"
    stateless: ClassVar[bool] = False
    limit_order: ClassVar[int | None] = None

    def __check_init__(self):
        if not callable(self.factory):
            raise ValueError(f"optax: factory={self.factory!r} is not callable (learning_rate -> transformation)")
        try:
            tx = self.factory(1.0)
        except Exception as e:
            raise ValueError(f"optax: factory(1.0) failed: {type(e).__name__}: {e}") from None
        if not isinstance(tx, optax.GradientTransformation):
            raise ValueError(f"optax: factory(1.0) returned {type(tx).__name__}, not an optax.GradientTransformation")

    def title(self) -> str:
        """The label, or the factory's name."""
        if self.label:
            return self.label
        fn = getattr(self.factory, "func", self.factory)
        return getattr(fn, "__name__", "optax")

    def init(self, game, z):
        return tuple(self.factory(1.0).init(eqx.filter(zi, eqx.is_inexact_array)) for zi in z)

    def step(self, game, z, state, lr):
        f = game.vector_field(z)
        new_z, new_state = [], []
        for i, (zi, fi, si) in enumerate(zip(z, f, state)):
            params = eqx.filter(zi, eqx.is_inexact_array)
            grads = jax.tree.map(lambda a: -a, eqx.filter(fi, eqx.is_inexact_array))
            updates, si = self.factory(lr[i]).update(grads, si, params)
            new_z.append(eqx.apply_updates(zi, updates))
            new_state.append(si)
        return tuple(new_z), tuple(new_state)

    def limit_field(self, game, z):
        raise ValueError(f"{self.title()}: no continuous limit is defined for this scheme (adaptive optimizer)")

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"optimizer": self.title()}
        out.update({k: v for k, v in getattr(self.factory, "keywords", {}).items()})
        if self.rates is not None:
            out["rates"] = list(self.rates)
        return out


def from_name(name: str, options: dict[str, Any] | None = None, rates: tuple[float, ...] | None = None) -> Optax:
    """The [`Optax`][] scheme of a named optimizer with keyword `options` (numbers).

    **Raises:**

    `ValueError` for an unknown name or an option the optimizer does not take.
    """
    import functools

    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
    opts = dict(options or {})
    for p in OPTIONS:
        if p.name in opts:
            p.check(f"scheme {name}", opts[p.name])
            if p.name in ("b1", "b2", "decay") and float(opts[p.name]) >= 1:
                raise ValueError(f"scheme {name}: {p.name}={opts[p.name]} must be < 1 (a decay rate)")
    fn = OPTIMIZERS[name]
    try:
        fn(learning_rate=1.0, **opts)
    except TypeError:
        raise ValueError(f"scheme {name}: unknown option among {sorted(opts)} (see optax.{fn.__name__})") from None
    except ValueError as e:
        raise ValueError(f"scheme {name}: {e}") from None
    return Optax(functools.partial(fn, **opts), name, rates=rates)
