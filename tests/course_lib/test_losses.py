"""Tests for course_lib.losses: values from the formulas, gradients from central differences."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import losses as L

H = 1e-6


def fd(loss_value, x):
    """Central differences of a scalar function, written out independently of the library."""
    x = np.array(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = H
        g[i] = (loss_value(x + e) - loss_value(x - e)) / (2 * H)
    return g


seeds = st.integers(0, 2**32 - 1)
shapes = st.sampled_from([(1,), (5,), (3, 4)])


@settings(max_examples=30, deadline=None)
@given(seed=seeds, shape=shapes)
def test_mse_and_mae_gradients(seed, shape):
    rng = np.random.default_rng(seed)
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    for loss in (L.mse, L.mae):  # |r| is smooth away from r = 0, which has probability 0
        value, grad = loss(pred, target)
        assert isinstance(value, float) and grad.shape == shape
        num = fd(lambda p, loss=loss: loss(p, target)[0], pred)
        np.testing.assert_allclose(grad, num, atol=1e-7)


def test_mse_mae_values_by_hand():
    pred, target = np.array([1.0, 2.0, 4.0, 0.0]), np.array([0.0, 2.0, 1.0, 2.0])
    assert L.mse(pred, target)[0] == (1 + 0 + 9 + 4) / 4
    value, grad = L.mae(pred, target)
    assert value == (1 + 0 + 3 + 2) / 4  # (1/n) sum |y - y_hat|, not the misprinted sum
    np.testing.assert_array_equal(grad, [0.25, 0.0, 0.25, -0.25])
    np.testing.assert_array_equal(L.mse(pred, target)[1], 2 * (pred - target) / 4)


@settings(max_examples=30, deadline=None)
@given(seed=seeds, shape=shapes)
def test_bce_gradient(seed, shape):
    rng = np.random.default_rng(seed)
    p, y = rng.uniform(0.05, 0.95, shape), rng.uniform(0, 1, shape)
    value, grad = L.binary_cross_entropy(p, y)
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(grad, fd(lambda q: L.binary_cross_entropy(q, y)[0], p),
                               rtol=1e-6, atol=1e-8)  # fmt: skip


@settings(max_examples=30, deadline=None)
@given(seed=seeds, shape=shapes, scale=st.floats(0.1, 30.0))
def test_bce_with_logits_gradient_and_value(seed, shape, scale):
    rng = np.random.default_rng(seed)
    z, y = scale * rng.standard_normal(shape), rng.integers(0, 2, shape).astype(float)
    value, grad = L.binary_cross_entropy_with_logits(z, y)
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(grad, (s - y) / z.size, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(
        grad, fd(lambda q: L.binary_cross_entropy_with_logits(q, y)[0], z), atol=1e-7
    )
    # y = 1: log(1 + exp(-z)); y = 0: log(1 + exp(z))  (softplus, via logaddexp)
    assert value == pytest.approx(np.mean(np.logaddexp(0.0, (1 - 2 * y) * z)), rel=1e-12)
    zs, ys, ss = z[np.abs(z) < 5], y[np.abs(z) < 5], s[np.abs(z) < 5]  # naive form is accurate
    if zs.size:
        naive = -np.mean(ys * np.log(ss) + (1 - ys) * np.log(1 - ss))
        assert L.binary_cross_entropy_with_logits(zs, ys)[0] == pytest.approx(naive, rel=1e-9)


def test_bce_with_logits_extreme_logits():
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0, 0.0])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    value, grad = L.binary_cross_entropy_with_logits(z, y)  # -W error: no warnings allowed
    # right with confidence: loss 0; wrong by 1000: loss 1000; z = 0: log 2
    assert value == pytest.approx((0 + 0 + 1000 + 1000 + math.log(2)) / 5, rel=1e-15)
    np.testing.assert_allclose(grad, np.array([0.0, 0.0, 1.0, -1.0, -0.5]) / 5)


def test_bce_from_probabilities_clips_zero_and_one():
    value, grad = L.binary_cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 0.0]), eps=1e-12)
    assert np.isfinite(value) and value == pytest.approx(-math.log(1e-12), rel=1e-6)
    assert np.all(np.isfinite(grad))
    value, _ = L.binary_cross_entropy(np.array([1.0, 0.0]), np.array([1.0, 0.0]))
    assert 0 <= value < 1e-11


def test_sigmoid_stable_and_correct():
    z = np.array([-1000.0, -30.0, -1.0, 0.0, 2.0, 745.0, 1000.0])
    s = L.sigmoid(z)
    assert np.all(np.isfinite(s)) and s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    np.testing.assert_allclose(s[1:-2], 1 / (1 + np.exp(-z[1:-2])), rtol=1e-15)
    np.testing.assert_allclose(L.sigmoid(-z), 1 - s, atol=1e-15)  # sigma(-z) = 1 - sigma(z)
    assert L.sigmoid(0.0).shape == ()


@settings(max_examples=30, deadline=None)
@given(seed=seeds, n=st.integers(1, 6), k=st.integers(2, 5), scale=st.floats(0.1, 10.0))
def test_softmax_ce_gradient(seed, n, k, scale):
    rng = np.random.default_rng(seed)
    z, labels = scale * rng.standard_normal((n, k)), rng.integers(0, k, n)
    value, grad = L.softmax_cross_entropy(z, labels)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    onehot = np.eye(k)[labels]
    assert value == pytest.approx(-np.mean(np.log(p[np.arange(n), labels])), rel=1e-10)
    np.testing.assert_allclose(grad, (p - onehot) / n, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(
        grad, fd(lambda q: L.softmax_cross_entropy(q, labels)[0], z), atol=1e-7
    )


def test_softmax_ce_extreme_logits():
    z = np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, 1000.0]])
    value, grad = L.softmax_cross_entropy(z, np.array([1, 2]))
    assert value == pytest.approx((2000.0 + math.log(3)) / 2, rel=1e-15)
    np.testing.assert_allclose(grad, np.array([[1.0, -1.0, 0.0], [1 / 3, 1 / 3, -2 / 3]]) / 2)


def test_softmax():
    z = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -1000.0]])
    p = L.softmax(z)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(p[0], e / e.sum(), rtol=1e-15)
    np.testing.assert_array_equal(p[1], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(L.softmax(z.T, axis=0), p.T, rtol=1e-15)
    with pytest.raises(ValueError, match="logits"):
        L.softmax(1.0)


def test_inputs_not_mutated():
    z, y = np.array([[2.0, -1.0]]), np.array([0])
    zc = z.copy()
    L.softmax_cross_entropy(z, y)
    L.mse(z, z + 1)
    L.binary_cross_entropy_with_logits(z, np.ones_like(z))
    np.testing.assert_array_equal(z, zc)


@pytest.mark.parametrize(
    "loss", [L.mse, L.mae, L.binary_cross_entropy, L.binary_cross_entropy_with_logits]
)
def test_mismatched_shapes_raise(loss):
    with pytest.raises(ValueError, match="same shape"):
        loss(np.full(3, 0.5), np.full((3, 1), 0.5))
    with pytest.raises(ValueError, match="same shape"):
        loss(np.full(3, 0.5), np.full(1, 0.5))
    with pytest.raises(ValueError, match="empty"):
        loss(np.zeros(0), np.zeros(0))


def test_bce_validation():
    with pytest.raises(ValueError, match="p must be between 0 and 1"):
        L.binary_cross_entropy(np.array([1.5]), np.array([1.0]))
    with pytest.raises(ValueError, match="y must be between 0 and 1"):
        L.binary_cross_entropy_with_logits(np.array([1.5]), np.array([2.0]))
    with pytest.raises(ValueError, match="eps"):
        L.binary_cross_entropy(np.array([0.5]), np.array([1.0]), eps=0.0)


def test_softmax_ce_validation():
    z = np.zeros((2, 3))
    with pytest.raises(TypeError, match="integer"):
        L.softmax_cross_entropy(z, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="labels must have shape"):
        L.softmax_cross_entropy(z, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        L.softmax_cross_entropy(z, np.array([0, 3]))
    with pytest.raises(ValueError, match="logits must have shape"):
        L.softmax_cross_entropy(np.zeros(3), np.array([0]))
