"""Tests for course_lib.functions: derivatives against finite differences, known minima."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import functions as F

OBJECTIVES_2D = {
    "rosenbrock": F.rosenbrock,
    "rosenbrock_a2_b10": lambda: F.rosenbrock(a=2.0, b=10.0),
    "beale": F.beale,
    "himmelblau": F.himmelblau,
    "booth": F.booth,
    "saddle": F.saddle,
    "six_hump_camel": F.six_hump_camel,
    "double_well": F.double_well,
    "ill_conditioned": lambda: F.ill_conditioned_quadratic(25.0, angle=0.4),
    "quadratic": lambda: F.quadratic([[3.0, 1.0], [1.0, 2.0]], [1.0, -1.0]),
}
OBJECTIVES_1D = {
    "nonconvex_1d": F.nonconvex_1d,
    "parabola_1d": lambda: F.parabola_1d(3.0),
    "quadratic_1x1": lambda: F.quadratic([[2.0]], [1.0]),
}
H = 1e-5


def fd_grad(f, p):
    """Central differences of a scalar function of a 2-vector (independent of the library)."""
    e = np.eye(2) * H
    return np.array([(f(p + e[i]) - f(p - e[i])) / (2 * H) for i in range(2)])


def fd_hess(grad, p):
    e = np.eye(2) * H
    return np.stack([(grad(p + e[j]) - grad(p - e[j])) / (2 * H) for j in range(2)], axis=1)


unit = st.floats(0.0, 1.0, allow_nan=False)


def in_bounds(obj, u, v):
    (x0, x1), (y0, y1) = obj.bounds
    return np.array([x0 + u * (x1 - x0), y0 + v * (y1 - y0)])


@pytest.mark.parametrize("name", OBJECTIVES_2D)
@settings(max_examples=40, deadline=None)
@given(u=unit, v=unit)
def test_grad_and_hess_match_finite_differences(name, u, v):
    obj = OBJECTIVES_2D[name]()
    p = in_bounds(obj, u, v)
    scale = 1.0 + abs(float(obj.f(p)))
    np.testing.assert_allclose(obj.grad(p), fd_grad(obj.f, p), rtol=1e-6, atol=1e-6 * scale)
    H_fd = fd_hess(obj.grad, p)
    np.testing.assert_allclose(obj.hess(p), H_fd, rtol=1e-6, atol=1e-5 * (1 + np.abs(H_fd).max()))
    np.testing.assert_array_equal(obj.hess(p), obj.hess(p).T)


@pytest.mark.parametrize("name", OBJECTIVES_1D)
@settings(max_examples=40, deadline=None)
@given(u=unit)
def test_1d_derivatives_match_finite_differences(name, u):
    obj = OBJECTIVES_1D[name]()
    lo, hi = obj.bounds
    x = lo + u * (hi - lo)
    d1 = (obj.f(x + H) - obj.f(x - H)) / (2 * H)
    d2 = (obj.grad(x + H) - obj.grad(x - H)) / (2 * H)
    np.testing.assert_allclose(obj.grad(x), d1, rtol=1e-6, atol=1e-7 * (1 + abs(obj.f(x))))
    np.testing.assert_allclose(obj.hess(x), d2, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", [*OBJECTIVES_2D, *OBJECTIVES_1D])
def test_minima_are_stationary_with_positive_definite_hessian(name):
    obj = {**OBJECTIVES_2D, **OBJECTIVES_1D}[name]()
    for m in obj.minima:
        np.testing.assert_allclose(obj.grad(m), 0.0, atol=1e-9)
        eig = np.linalg.eigvalsh(np.atleast_2d(obj.hess(m)))
        assert eig.min() > 0, f"{name}: Hessian at minimum {m} has eigenvalues {eig}"
    if obj.f_min is not None:  # the first listed minimum is global
        assert np.isclose(obj.f(obj.minima[0]), obj.f_min, atol=1e-12)
        assert np.all(obj.f(obj.minima) >= obj.f_min - 1e-12)


@pytest.mark.parametrize("name", [*OBJECTIVES_2D, *OBJECTIVES_1D])
def test_known_points_and_start_lie_inside_bounds(name):
    obj = {**OBJECTIVES_2D, **OBJECTIVES_1D}[name]()
    lo, hi = np.array(obj.bounds, dtype=float).T
    pts = [obj.x0, *obj.minima, *(obj.saddles if obj.saddles is not None else [])]
    for p in pts:
        assert np.all(lo <= p) and np.all(p <= hi), f"{name}: {p} outside {obj.bounds}"
    assert np.shape(obj.x0) == ((obj.dim,) if obj.dim > 1 else ())


@pytest.mark.parametrize("name", ["beale", "himmelblau", "saddle", "double_well"])
def test_saddles_are_saddles(name):
    obj = OBJECTIVES_2D[name]()
    assert obj.saddles is not None and len(obj.saddles) > 0
    for s in obj.saddles:
        np.testing.assert_allclose(obj.grad(s), 0.0, atol=1e-9)
        eig = np.linalg.eigvalsh(obj.hess(s))
        assert eig[0] < 0 < eig[-1], f"{name}: not a saddle at {s}, eigenvalues {eig}"


@pytest.mark.parametrize("name", OBJECTIVES_2D)
def test_vectorised_calls_equal_a_loop(name):
    obj = OBJECTIVES_2D[name]()
    (x0, x1), (y0, y1) = obj.bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, 7), np.linspace(y0, y1, 5))
    P = np.stack([X, Y], axis=-1)
    fv, gv, hv = obj.f(P), obj.grad(P), obj.hess(P)
    assert fv.shape == (5, 7) and gv.shape == (5, 7, 2) and hv.shape == (5, 7, 2, 2)
    for i in range(5):  # equal up to round-off (BLAS may sum in another order)
        for j in range(7):
            np.testing.assert_allclose(fv[i, j], obj.f(P[i, j]), rtol=1e-14, atol=1e-14)
            np.testing.assert_allclose(gv[i, j], obj.grad(P[i, j]), rtol=1e-14, atol=1e-14)
            np.testing.assert_allclose(hv[i, j], obj.hess(P[i, j]), rtol=1e-14, atol=1e-14)
    assert np.shape(obj.f(P[0, 0])) == () and obj.grad(P[0, 0]).shape == (2,)


@pytest.mark.parametrize("name", OBJECTIVES_2D)
@pytest.mark.parametrize("bad", [np.zeros(3), np.zeros((4, 1)), np.zeros(()), [1.0]])
def test_wrong_last_axis_raises(name, bad):
    obj = OBJECTIVES_2D[name]()
    for fn in (obj.f, obj.grad, obj.hess):
        with pytest.raises(ValueError, match="last axis of size 2"):
            fn(bad)


@pytest.mark.parametrize("name", OBJECTIVES_1D)
def test_1d_is_elementwise(name):
    obj = OBJECTIVES_1D[name]()
    x = np.linspace(*obj.bounds, 12).reshape(3, 4)
    for fn in (obj.f, obj.grad, obj.hess):
        out = fn(x)
        assert out.shape == (3, 4)
        np.testing.assert_array_equal(out, [[fn(v) for v in row] for row in x])
    assert np.shape(obj.f(2.0)) == ()
    assert obj.minima.ndim == 1


def test_inputs_are_not_mutated():
    p = np.array([[0.5, -0.25], [1.0, 2.0]])
    copy = p.copy()
    for obj in (F.rosenbrock(), F.himmelblau(), F.quadratic(np.eye(2))):
        obj.f(p), obj.grad(p), obj.hess(p)
    np.testing.assert_array_equal(p, copy)


# ---------------------------------------------------------------- closed forms and literature


def test_rosenbrock_minimum_at_a_a_squared():
    obj = F.rosenbrock(a=2.0, b=10.0)
    np.testing.assert_array_equal(obj.minima, [[2.0, 4.0]])
    assert obj.f([2.0, 4.0]) == 0.0
    assert obj.f([0.0, 0.0]) == 4.0  # (2 - 0)^2 + 10 (0 - 0)^2


def test_beale_and_booth_values():
    assert F.beale().f([3.0, 0.5]) == 0.0
    assert F.beale().f([0.0, 0.0]) == pytest.approx(1.5**2 + 2.25**2 + 2.625**2)
    assert F.booth().f([1.0, 3.0]) == 0.0
    assert F.booth().f([0.0, 0.0]) == 74.0  # 7^2 + 5^2


def test_himmelblau_four_minima_match_literature():
    obj = F.himmelblau()
    literature = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]
    assert obj.minima.shape == (4, 2)
    np.testing.assert_allclose(obj.minima, literature, atol=1e-6)
    np.testing.assert_allclose(obj.f(obj.minima), 0.0, atol=1e-20)
    assert obj.saddles.shape == (4, 2)


def test_six_hump_camel_six_minima_two_global():
    obj = F.six_hump_camel()
    assert obj.minima.shape == (6, 2)
    values = obj.f(obj.minima)
    np.testing.assert_allclose(values, [-1.0316, -1.0316, -0.2155, -0.2155, 2.1043, 2.1043],
                               atol=1e-4)  # fmt: skip
    assert obj.f_min == pytest.approx(-1.031628453, abs=1e-9)  # Jamil & Yang (2013)
    np.testing.assert_allclose(obj.minima[0], [0.0898, -0.7126], atol=1e-4)
    np.testing.assert_allclose(obj.minima[1], -obj.minima[0], atol=1e-12)  # f(-x) = f(x)


def test_nonconvex_1d_minima_are_all_local_minima_in_bounds():
    obj = F.nonconvex_1d()
    x = np.linspace(*obj.bounds, 200001)
    d = obj.grad(x)
    crossings = x[1:][(d[:-1] < 0) & (d[1:] >= 0)]  # f' goes from - to +: a minimum
    assert len(crossings) == len(obj.minima) >= 3
    np.testing.assert_allclose(np.sort(obj.minima), crossings, atol=1e-4)
    assert obj.f_min == pytest.approx(obj.f(x).min(), abs=1e-8)
    assert obj.grad(obj.x0) > 0  # x0 = 3 descends to the left, into a non-global minimum
    assert obj.f(obj.minima[0]) < obj.f(obj.minima[2])


def test_parabola_and_validation():
    obj = F.parabola_1d(4.0)
    assert obj.f(1.5) == 4.5 and obj.grad(1.5) == 6.0 and obj.hess(1.5) == 4.0
    for a in (0.0, -1.0, np.nan, True):
        with pytest.raises(ValueError, match="a"):
            F.parabola_1d(a)


def test_saddle_has_no_minimum():
    obj = F.saddle()
    assert obj.minima.shape == (0, 2) and obj.f_min is None
    assert obj.f([0.0, 3.0]) == -9.0


def test_double_well():
    obj = F.double_well()
    np.testing.assert_array_equal(obj.hess([1.0, 0.0]), [[8.0, 0.0], [0.0, 2.0]])
    np.testing.assert_array_equal(obj.hess([0.0, 0.0]), [[-4.0, 0.0], [0.0, 2.0]])


# ---------------------------------------------------------------- quadratics


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(2, 5))
def test_quadratic_formula_and_minimiser(seed, d):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((d, d))
    A = M @ M.T + d * np.eye(d)
    b = rng.standard_normal(d)
    obj = F.quadratic(A, b)
    x = rng.standard_normal((3, d))
    expected = [0.5 * xi @ A @ xi - b @ xi for xi in x]
    np.testing.assert_allclose(obj.f(x), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(obj.grad(x), x @ A - b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(obj.minima[0], np.linalg.solve(A, b), rtol=1e-12)
    assert obj.hess(x).shape == (3, d, d) and len(obj.bounds) == d


def test_quadratic_indefinite_has_saddle_not_minimum():
    obj = F.quadratic(np.diag([1.0, -2.0]), [1.0, 2.0])
    assert obj.minima.shape == (0, 2)
    np.testing.assert_allclose(obj.saddles, [[1.0, -1.0]])


def test_condition_number():
    assert F.condition_number(np.diag([2.0, 20.0])) == pytest.approx(10.0)
    assert F.condition_number(np.diag([1.0, 0.0])) == np.inf
    with pytest.raises(ValueError, match="square"):
        F.condition_number(np.ones((2, 3)))


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1000.0])
@pytest.mark.parametrize("angle", [0.0, np.pi / 6])
def test_ill_conditioned_quadratic(kappa, angle):
    obj = F.ill_conditioned_quadratic(kappa, angle=angle)
    A = obj.hess(np.zeros(2))
    assert F.condition_number(A) == pytest.approx(kappa, rel=1e-10)
    np.testing.assert_allclose(obj.minima, [[0.0, 0.0]], atol=1e-12)
    # the flat direction (eigenvalue 1) points along angle
    u = np.array([np.cos(angle), np.sin(angle)])
    np.testing.assert_allclose(A @ u, u, atol=1e-12)
    assert F.ill_conditioned_quadratic(kappa, dim=4).dim == 4


def test_quadratic_validation():
    with pytest.raises(ValueError, match="symmetric"):
        F.quadratic([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="b must have shape"):
        F.quadratic(np.eye(2), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="square"):
        F.quadratic(np.ones(3))
    with pytest.raises(ValueError, match="kappa"):
        F.ill_conditioned_quadratic(0.5)
    with pytest.raises(ValueError, match="b"):
        F.rosenbrock(b=-1.0)
