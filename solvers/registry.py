"""Schemes by name, as the CLI and scripts build them: ``make_scheme("agda", n_d="5")``."""

from __future__ import annotations

import math
from typing import Any

from .schemes import AGDA, EG, OGDA, OPTAX, SGA, SGDA, Anderson, Consensus, Momentum, Optax, Scheme, Splitting

SCHEMES: dict[str, str] = {
    "sgda": "simultaneous gradient descent-ascent",
    "ttur": "sgda with per-player rates (ratio=TAU: y-rate/x-rate, default 2; or rates=r1/r2/...)",
    "agda": "alternating GDA (n_g, n_d inner steps; order=xy|yx)",
    "eg": "extragradient (alternating=1 for the alternating extrapolation)",
    "ogda": "optimistic GDA",
    "consensus": "consensus optimization (gamma)",
    "sga": "symplectic gradient adjustment (lam)",
    "momentum": "heavy-ball GDA (beta; < 0 for negative momentum)",
    "anderson": "GDA-AM: Anderson mixing (m, base=agda|sgda|eg|consensus|sga; default agda)",
    "splitting": "each player follows its exact sub-flow in turn (order=xy|yx): agda's continuous counterpart",
    **{name: f"optax {name} per player (its keyword options, e.g. b1, b2, eps)" for name in OPTAX},
}

_INT = {"n_g", "n_d", "m"}
_FLOAT = {"gamma", "lam", "beta", "reg", "ratio"}
_ALLOWED = {
    "sgda": set(),
    "ttur": set(),
    "agda": {"n_g", "n_d", "order"},
    "eg": {"alternating"},
    "ogda": set(),
    "consensus": {"gamma"},
    "sga": {"lam"},
    "momentum": {"beta"},
    "anderson": {"m", "base", "reg"},
    "splitting": {"order"},
}
_COMMON = {"ratio", "rates"}


def _num(name: str, key: str, raw: Any, kind: type) -> Any:
    try:
        if kind is int:
            val = int(raw) if not isinstance(raw, float) or raw.is_integer() else None
            if val is None:
                raise ValueError
            return val
        val = float(raw)
    except (TypeError, ValueError):
        what = "an integer" if kind is int else "a number"
        raise ValueError(f"scheme {name}: {key}={raw!r} is not {what}") from None
    if not math.isfinite(val):
        raise ValueError(f"scheme {name}: {key}={raw!r} must be finite")
    return val


def _rates(name: str, params: dict[str, Any]) -> tuple[float, ...] | None:
    if "ratio" in params and "rates" in params:
        raise ValueError(f"scheme {name}: give ratio or rates, not both")
    if "ratio" in params:
        r = _num(name, "ratio", params.pop("ratio"), float)
        if r <= 0:
            raise ValueError(f"scheme {name}: ratio={r} must be > 0")
        return (1.0, r)
    if "rates" in params:
        raw = params.pop("rates")
        items = raw.replace(",", "/").split("/") if isinstance(raw, str) else list(raw)
        rates = tuple(_num(name, "rates", r, float) for r in items)
        if any(r <= 0 for r in rates):
            raise ValueError(f"scheme {name}: rates={list(rates)} must all be > 0")
        return rates
    return None


def make_scheme(name: str, **params: Any) -> Scheme:
    """Build a scheme by name.

    **Arguments:**

    - `name`: one of [`SCHEMES`][].
    - `params`: the scheme's options (strings or Python values); every scheme
      also takes ``ratio`` (two players: y-rate/x-rate) or ``rates``
      (``r1/r2/...``, one per player).

    **Returns:**

    The [`Scheme`][].

    **Raises:**

    `ValueError` naming an unknown scheme or option, or a bad value.
    """
    if name not in SCHEMES:
        raise ValueError(f"unknown scheme {name!r}; choose from {', '.join(SCHEMES)}")
    params = dict(params)
    if name == "ttur" and "ratio" not in params and "rates" not in params:
        params["ratio"] = 2.0
    rates = _rates(name, params)
    if name in OPTAX:
        opts = tuple(sorted((k, _num(name, k, v, float)) for k, v in params.items()))
        try:
            OPTAX[name](learning_rate=1.0, **dict(opts))
        except TypeError:
            raise ValueError(f"scheme {name}: unknown option among {[k for k, _ in opts]} "
                             f"(see optax.{OPTAX[name].__name__})") from None
        return Optax(name, opts, rates)
    bad = sorted(set(params) - _ALLOWED[name])
    if bad:
        allowed = ", ".join(sorted(_ALLOWED[name] | _COMMON))
        raise ValueError(f"scheme {name}: unknown option {bad[0]!r}; allowed: {allowed}")
    kw: dict[str, Any] = {}
    for k, v in params.items():
        if k in _INT:
            kw[k] = _num(name, k, v, int)
        elif k in _FLOAT:
            kw[k] = _num(name, k, v, float)
        elif k == "order":
            orders = {"xy": (0, 1), "yx": (1, 0)}
            if v not in orders:
                raise ValueError(f"scheme {name}: order={v!r} is not one of xy, yx")
            kw[k] = orders[v]
        elif k == "alternating":
            if str(v).lower() not in ("0", "1", "true", "false"):
                raise ValueError(f"scheme {name}: alternating={v!r} must be 0 or 1")
            kw[k] = str(v).lower() in ("1", "true")
        else:
            kw[k] = v
    cls = {"sgda": SGDA, "ttur": SGDA, "agda": AGDA, "eg": EG, "ogda": OGDA, "consensus": Consensus,
           "sga": SGA, "momentum": Momentum, "anderson": Anderson, "splitting": Splitting}[name]
    return cls(**kw, rates=rates)
