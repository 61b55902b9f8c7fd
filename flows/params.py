"""Declared parameters: one declaration per game parameter or scheme option.

A game or scheme declares each parameter once, on its own class: as field
metadata with [`param`][] where the parameter is a field (the Dirac-GAN's
``gamma``), or as a [`Param`][] in the class's ``extra_parameters`` where it
only shapes construction (a random bilinear game's ``dim`` and ``cond``).
Everything else is derived from those declarations: the games and schemes
tables, ``gameflow games``, the command line's parsing and its messages,
validation in the constructors, and the documentation.

Text is not parsed here: the command line turns strings into values (see
``gameflow.experiments.parsing``); [`Param.check`][] validates values.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import equinox as eqx
import jax
import numpy as np

KINDS = ("float", "int", "bool", "choice", "vector", "matrix", "order", "rates")


@dataclass(frozen=True)
class Param:
    """One declared parameter.

    **Arguments:**

    - `name`: the keyword it is passed as.
    - `kind`: ``float``, ``int``, ``bool``, ``choice`` (one of `choices`),
      ``vector``, ``matrix``, ``order`` (a permutation of the players, written
      ``xy``/``yx`` or ``0/2/1``) or ``rates`` (positive per-player
      multipliers, written ``1/2/4``).
    - `default`: the default value (``None``: not set).
    - `doc`: a one-line description.
    - `choices`: the allowed values of a ``choice``.
    - `low`, `high`: bounds of a number, inclusive unless `strict` (then
      both are exclusive).
    - `finite`: whether a float must be finite (``clip=inf`` is allowed).
    - `sweep`: whether the parameter is traced (a float field that is not
      static), so a sweep can vary it without recompiling.
    """

    name: str
    kind: str
    default: Any
    doc: str
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    strict: bool = False
    finite: bool = True
    sweep: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name}: kind={self.kind!r} is not one of {', '.join(KINDS)}")

    def rule(self) -> str:
        """The allowed values, in words (``">= 0"``, ``"in [2, 200]"``, ``"one of gan, wgan"``)."""
        if self.kind == "choice":
            return "one of " + ", ".join(map(str, self.choices))
        parts = []
        if self.low is not None and self.high is not None:
            lo, hi = ("(", ")") if self.strict else ("[", "]")
            parts.append(f"in {lo}{_fmt(self.low)}, {_fmt(self.high)}{hi}")
        elif self.low is not None:
            parts.append(f"{'>' if self.strict else '>='} {_fmt(self.low)}")
        elif self.high is not None:
            parts.append(f"{'<' if self.strict else '<='} {_fmt(self.high)}")
        if self.kind == "int":
            parts.insert(0, "an integer")
        elif self.kind == "float":
            parts.insert(0, "a finite number" if self.finite else "a number")
        elif self.kind == "bool":
            parts.append("true or false")
        return " ".join(parts) if parts else f"a {self.kind}"

    def check(self, owner: str, value: Any) -> Any:
        """Validate a value (not text) and return it.

        Traced values (a parameter swept under ``vmap``) pass unchecked.

        **Raises:**

        `ValueError` ``"OWNER: NAME=VALUE must be RULE"``.
        """
        if value is None or isinstance(value, jax.core.Tracer):
            return value
        bad = ValueError(f"{owner}: {self.name}={_show(value)} must be {self.rule()}")
        if self.kind == "choice":
            if value not in self.choices:
                raise bad
            return value
        if self.kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise bad
            return bool(value)
        if self.kind in ("float", "int"):
            if isinstance(value, (bool, np.bool_)):
                raise bad
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise bad from None
            if math.isnan(v) or (self.finite and math.isinf(v)):
                raise bad
            if self.kind == "int" and not (isinstance(value, (int, np.integer)) or float(v).is_integer()):
                raise bad
            if self.low is not None and (v <= self.low if self.strict else v < self.low):
                raise bad
            if self.high is not None and (v >= self.high if self.strict else v > self.high):
                raise bad
            return value
        if self.kind in ("vector", "matrix", "rates"):
            arr = np.asarray(value, dtype=float)
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{owner}: {self.name}={_show(value)} has non-finite entries")
            if self.kind == "rates" and not np.all(arr > 0):
                raise ValueError(f"{owner}: {self.name}={_show(value)} must all be > 0")
            return value
        if self.kind == "order":
            if sorted(value) != list(range(len(value))):
                raise ValueError(f"{owner}: {self.name}={_show(value)} must be a permutation of the players 0..n-1")
            return value
        return value

    def describe(self) -> dict[str, Any]:
        """The declaration as JSON-ready data (for ``gameflow games --json`` and the docs)."""
        out = {"name": self.name, "type": self.kind, "default": jsonable(self.default), "doc": self.doc}
        if self.choices:
            out["choices"] = list(self.choices)
        rule = self.rule()
        if self.kind in ("float", "int") and (self.low is not None or self.high is not None):
            out["allowed"] = rule
        if self.sweep:
            out["sweepable"] = True
        return out


def param(default: Any, doc: str, *, kind: str | None = None, choices: tuple[Any, ...] = (),
          low: float | None = None, high: float | None = None, strict: bool = False, finite: bool = True,
          static: bool = False, kw_only: bool = False) -> Any:
    """A dataclass field that declares a parameter (use in an ``equinox.Module``).

    The field's name is the parameter's name; its default is the parameter's
    default.  `kind` is inferred from the default when not given (``float``,
    ``int``, ``bool``; a string default needs `choices`).  A float field that
    is not `static` is traced, hence sweepable; `kw_only` makes it a keyword
    argument of the constructor.  See [`Param`][] for the rest.
    """
    if kind is None:
        if isinstance(default, bool):
            kind = "bool"
        elif isinstance(default, int):
            kind = "int"
        elif isinstance(default, float):
            kind = "float"
        elif choices:
            kind = "choice"
        else:
            raise ValueError(f"param({default!r}): give kind=")
    spec = {"kind": kind, "doc": doc, "choices": tuple(choices), "low": low, "high": high, "strict": strict,
            "finite": finite, "sweep": kind == "float" and not static}
    return eqx.field(default=default, static=static, kw_only=kw_only, metadata={"param": spec})


def field_parameters(cls: type) -> tuple[Param, ...]:
    """The parameters declared with [`param`][] on the fields of a dataclass `cls`, in field order."""
    out = []
    for f in dataclasses.fields(cls):
        spec = f.metadata.get("param")
        if spec is not None:
            default = None if f.default is dataclasses.MISSING else f.default
            out.append(Param(f.name, default=default, **spec))
    return tuple(out)


def check_fields(obj: Any, owner: str) -> None:
    """Validate every declared field parameter of `obj` (concrete values only)."""
    for p in field_parameters(type(obj)):
        p.check(owner, getattr(obj, p.name))


def lookup(params: tuple[Param, ...], name: str, owner: str) -> Param:
    """The parameter called `name`, or a `ValueError` naming the allowed ones."""
    for p in params:
        if p.name == name:
            return p
    allowed = ", ".join(p.name for p in params) or "none"
    raise ValueError(f"{owner}: unknown parameter {name!r}; allowed: {allowed}")


def jsonable(value: Any) -> Any:
    """A parameter value as JSON: arrays become lists, non-finite floats strings."""
    if isinstance(value, Callable) and not hasattr(value, "__array__"):
        return getattr(value, "__name__", repr(value))
    if isinstance(value, np.ndarray) or hasattr(value, "__array__") and not isinstance(value, (str, bytes)):
        return jsonable(np.asarray(value).tolist())
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _fmt(v: float) -> str:
    return f"{v:g}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        return str(jsonable(value))
    return str(value)
