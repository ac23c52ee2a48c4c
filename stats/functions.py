"""The dijet-style background functions, x = m / 13000 GeV, addressable by name.

Every function is ``exp`` of a linear combination of basis functions of x, so each is stored
as a basis plus the sign that maps physical parameters onto log-linear coefficients. That form
gives exact gradients, linear least-squares starting values and a well-conditioned fit
(see :mod:`adsearch.stats.fitting`) for all five functions with one piece of code.

The density is per unit x: the expected count in a bin is the integral of ``f(x) dx`` over it.

>>> f = get_function("three_param")
>>> float(f.density(np.array([0.2]), np.array([1.0, 10.0, 5.0]))[0]) > 0
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from adsearch import SQRT_S_GEV

__all__ = [
    "FUNCTIONS",
    "FUNCTION_NAMES",
    "FitFunction",
    "get_function",
    "x_of_mass",
    "three_param",
    "four_param",
    "ua2",
    "five_param",
    "five_param_alt",
]

Basis = Callable[[np.ndarray], np.ndarray]


def x_of_mass(m_gev: np.ndarray | float) -> np.ndarray:
    """x = m / sqrt(s) with sqrt(s) = 13 TeV."""
    return np.asarray(m_gev, dtype=float) / SQRT_S_GEV


@dataclass(frozen=True)
class FitFunction:
    """``f(x) = p1 * exp(sum_k sign_k * p_{k+1} * basis_k(x))``.

    ``signs`` turn physical parameters (as written in the papers) into the log-linear
    coefficients ``theta = (ln p1, sign_1 p2, ...)`` that the fit works with.
    """

    name: str
    formula: str
    basis_terms: tuple[Basis, ...]
    signs: tuple[float, ...]

    @property
    def n_params(self) -> int:
        return 1 + len(self.basis_terms)

    def basis(self, x: np.ndarray) -> np.ndarray:
        """Design matrix (n_points, n_params): column 0 is 1 (for ln p1)."""
        x = np.asarray(x, dtype=float)
        cols = [np.ones_like(x)] + [term(x) for term in self.basis_terms]
        return np.stack(cols, axis=-1)

    def theta_from_params(self, params: np.ndarray) -> np.ndarray:
        params = np.asarray(params, dtype=float)
        if params.shape != (self.n_params,):
            raise ValueError(f"{self.name}: expected {self.n_params} parameters, got shape {params.shape}")
        if params[0] <= 0:
            raise ValueError(f"{self.name}: normalisation p1 must be > 0, got {params[0]}")
        return np.concatenate([[np.log(params[0])], params[1:] * np.asarray(self.signs)])

    def params_from_theta(self, theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=float)
        with np.errstate(over="ignore"):  # a diverged fit reports inf rather than warning
            return np.concatenate([[np.exp(theta[0])], theta[1:] * np.asarray(self.signs)])

    def jacobian_params_theta(self, theta: np.ndarray) -> np.ndarray:
        """d params / d theta (diagonal), to carry a covariance from theta to params."""
        with np.errstate(over="ignore"):
            return np.diag(np.concatenate([[np.exp(theta[0])], np.asarray(self.signs)]))

    def density(self, x: np.ndarray, params: np.ndarray) -> np.ndarray:
        """f(x) per unit x for physical parameters ``params``."""
        theta = self.theta_from_params(params)
        return np.exp(self.basis(x) @ theta)

    def __call__(self, x: np.ndarray, *params: float) -> np.ndarray:
        return self.density(x, np.asarray(params, dtype=float))


def _log1m(x: np.ndarray) -> np.ndarray:
    return np.log1p(-x)


def _logx2(x: np.ndarray) -> np.ndarray:
    return np.log(x) ** 2


def _logx3(x: np.ndarray) -> np.ndarray:
    return np.log(x) ** 3


def _logx_over_sqrtx(x: np.ndarray) -> np.ndarray:
    return np.log(x) / np.sqrt(x)


def _square(x: np.ndarray) -> np.ndarray:
    return x**2


def _identity(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=float)


three_param = FitFunction(
    "three_param", "p1 (1-x)^p2 x^(-p3)", (_log1m, np.log), (1.0, -1.0)
)
four_param = FitFunction(
    "four_param", "p1 (1-x)^p2 x^(-p3 - p4 ln x)", (_log1m, np.log, _logx2), (1.0, -1.0, -1.0)
)
ua2 = FitFunction(
    "ua2", "p1 x^p2 exp(-p3 x - p4 x^2)", (np.log, _identity, _square), (1.0, -1.0, -1.0)
)
five_param = FitFunction(
    "five_param",
    "p1 (1-x)^p2 x^(p3 + p4 ln x + p5 ln^2 x)",
    (_log1m, np.log, _logx2, _logx3),
    (1.0, 1.0, 1.0, 1.0),
)
five_param_alt = FitFunction(
    "five_param_alt",
    "p1 (1-x)^p2 x^(p3 + p4 ln x + p5 / sqrt(x))",
    (_log1m, np.log, _logx2, _logx_over_sqrtx),
    (1.0, 1.0, 1.0, 1.0),
)

#: Every function by name, in the order the fit strategies try them.
FUNCTIONS: dict[str, FitFunction] = {
    f.name: f for f in (three_param, four_param, ua2, five_param, five_param_alt)
}
FUNCTION_NAMES: tuple[str, ...] = tuple(FUNCTIONS)


def get_function(function: str | FitFunction) -> FitFunction:
    """Look a function up by name (or pass one through), naming the valid choices on error."""
    if isinstance(function, FitFunction):
        return function
    try:
        return FUNCTIONS[function]
    except KeyError:
        raise ValueError(f"unknown fit function {function!r}; choose one of {', '.join(FUNCTION_NAMES)}") from None
