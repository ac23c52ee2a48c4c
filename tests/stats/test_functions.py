from __future__ import annotations

import numpy as np
import pytest

from adsearch.stats.functions import FUNCTIONS, FUNCTION_NAMES, get_function, x_of_mass

# The formulas exactly as written in the issue, independent of the basis representation.
FORMULAS = {
    "three_param": lambda x, p: p[0] * (1 - x) ** p[1] * x ** (-p[2]),
    "four_param": lambda x, p: p[0] * (1 - x) ** p[1] * x ** (-p[2] - p[3] * np.log(x)),
    "ua2": lambda x, p: p[0] * x ** p[1] * np.exp(-p[2] * x - p[3] * x**2),
    "five_param": lambda x, p: p[0] * (1 - x) ** p[1] * x ** (p[2] + p[3] * np.log(x) + p[4] * np.log(x) ** 2),
    "five_param_alt": lambda x, p: p[0] * (1 - x) ** p[1] * x ** (p[2] + p[3] * np.log(x) + p[4] / np.sqrt(x)),
}


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_density_matches_written_formula(name: str, rng: np.random.Generator) -> None:
    f = get_function(name)
    x = rng.uniform(0.02, 0.7, 50)
    for _ in range(5):
        p = np.concatenate([[rng.uniform(0.5, 5.0)], rng.normal(0.0, 2.0, f.n_params - 1)])
        np.testing.assert_allclose(f.density(x, p), FORMULAS[name](x, p), rtol=1e-10)


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_theta_round_trip(name: str) -> None:
    f = FUNCTIONS[name]
    p = np.linspace(1.5, 3.0, f.n_params)
    np.testing.assert_allclose(f.params_from_theta(f.theta_from_params(p)), p)


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="five_param_alt"):
        get_function("six_param")
    with pytest.raises(ValueError, match="expected 3 parameters"):
        get_function("three_param").density(np.array([0.1]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="p1 must be > 0"):
        get_function("ua2").density(np.array([0.1]), np.array([-1.0, 2.0, 1.0, 1.0]))


def test_x_is_mass_over_13_tev() -> None:
    assert x_of_mass(6500.0) == pytest.approx(0.5)
