"""Tests for course_lib.gradcheck: known gradients pass, wrong ones fail, accuracy orders."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.gradcheck import GradientCheckError, check_grad, numerical_gradient, rel_error


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shape=st.sampled_from([(), (3,), (2, 3), (2, 1, 2)]))
def test_numerical_gradient_of_known_functions(seed, shape):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    c = rng.standard_normal(shape)
    # f = sum(c x^3 + sin x): grad = 3 c x^2 + cos x
    g = numerical_gradient(lambda v: np.sum(c * v**3 + np.sin(v)), x)
    assert g.shape == np.shape(x)
    np.testing.assert_allclose(g, 3 * c * x**2 + np.cos(x), rtol=1e-8, atol=1e-9)


def test_numerical_gradient_does_not_mutate_and_sees_restored_values():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    original = x.copy()
    seen = []

    def f(v):
        seen.append(v.copy())
        return float(np.sum(v**2))

    numerical_gradient(f, x)
    np.testing.assert_array_equal(x, original)
    for v in seen:  # every call differs from x in exactly one coordinate, by +-h
        assert np.count_nonzero(v != original) == 1
        np.testing.assert_allclose(np.abs(v - original).sum(), 1e-5, rtol=1e-6)


def test_integer_input_is_handled_as_float():
    g = numerical_gradient(lambda v: np.sum(v**2), np.array([1, 2, 3]))
    np.testing.assert_allclose(g, [2.0, 4.0, 6.0], rtol=1e-9)


def test_forward_is_first_order_central_second_order():
    f, df, x = np.exp, np.exp(0.3), np.array(0.3)
    hs = np.array([1e-2, 1e-3])
    err_f = [abs(numerical_gradient(f, x, h, method="forward") - df) for h in hs]
    err_c = [abs(numerical_gradient(f, x, h, method="central") - df) for h in hs]
    slope_f = np.log10(err_f[0] / err_f[1])  # error ~ h^p  =>  slope p per decade of h
    slope_c = np.log10(err_c[0] / err_c[1])
    assert slope_f == pytest.approx(1.0, abs=0.1)
    assert slope_c == pytest.approx(2.0, abs=0.1)
    # leading terms: forward h f''/2, central h^2 f'''/6 (f = exp: all derivatives exp(0.3))
    assert err_f[1] == pytest.approx(1e-3 * df / 2, rel=0.01)
    assert err_c[1] == pytest.approx(1e-6 * df / 6, rel=0.01)


def test_rel_error_formula():
    a, b = np.array([1.0, 0.0, 3.0]), np.array([1.1, 0.0, 3.0])
    assert rel_error(a, b) == pytest.approx(0.1 / 2.1)  # max_i |a-b| / (|a| + |b|)
    assert rel_error(a, a) == 0.0
    assert rel_error(np.array([0.0]), np.array([1e-10])) == pytest.approx(1e-10 / 1e-8)
    with pytest.raises(ValueError, match="same shape"):
        rel_error(np.zeros(2), np.zeros(3))


def test_check_grad_passes_correct_gradient_below_documented_threshold():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    err = check_grad(lambda v: np.sum(np.tanh(A @ v)), lambda v: A.T @ (1 - np.tanh(A @ v) ** 2), x)
    assert err < 1e-7


def test_check_grad_handles_zero_components():
    # true gradient has an exact zero; round-off must not make the check fail
    x = np.array([0.0, 1e3])
    assert check_grad(lambda v: np.sum(v**2), lambda v: 2 * v, x) < 1e-7


@pytest.mark.parametrize(
    "wrong",
    [lambda v: 2 * v, lambda v: 3 * v**2 + 1e-4, lambda v: (3 * v**2)[::-1], lambda v: v * np.nan],
)
def test_check_grad_rejects_wrong_gradients(wrong):
    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(GradientCheckError, match="worst component"):
        check_grad(lambda v: np.sum(v**3), wrong, x)


def test_check_grad_is_an_assertion_and_validates():
    assert issubclass(GradientCheckError, AssertionError)
    with pytest.raises(ValueError, match="shape of x"):
        check_grad(lambda v: np.sum(v**2), lambda v: np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="scalar"):
        numerical_gradient(lambda v: v, np.zeros(2))
    with pytest.raises(ValueError, match="h"):
        numerical_gradient(lambda v: np.sum(v), np.zeros(2), h=0.0)
    with pytest.raises(ValueError, match="method"):
        numerical_gradient(lambda v: np.sum(v), np.zeros(2), method="backward")
