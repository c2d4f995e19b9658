"""Tests for course_lib.data: shapes, seeding, geometry of the data sets, mini-batches."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import data as D

GENERATORS = {
    "linear_regression": lambda r: D.linear_regression(r, n=50, d=3),
    "sparse_features": lambda r: D.sparse_features(r, n=50),
    "two_moons": lambda r: D.two_moons(r, n=51),
    "spirals": lambda r: D.spirals(r, n=50, n_classes=3),
    "circles": lambda r: D.circles(r, n=51),
}


def rng(seed=0):
    return np.random.default_rng(seed)


def global_state():
    return np.random.get_state()  # noqa: NPY002 (the legacy global state must not move)


def same_state(a, b):
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2:] == b[2:]


@pytest.mark.parametrize("name", GENERATORS)
def test_shapes_dtypes_and_seeding(name):
    make = GENERATORS[name]
    before = global_state()
    X, y = make(rng(1))
    assert same_state(before, global_state())
    assert len(X) == len(y) == (51 if name in ("two_moons", "circles") else 50)
    assert X.dtype == np.float64 and np.all(np.isfinite(X)) and y.ndim == 1
    X2, y2 = make(rng(1))
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make(rng(2))
    assert not np.array_equal(X, X3)


def test_linear_regression_model_and_params():
    X, y, w, b = D.linear_regression(rng(3), n=2000, d=4, noise=0.1, b=0.5, return_params=True)
    assert X.shape == (2000, 4) and y.shape == (2000,) and w.shape == (4,) and b == 0.5
    residual = y - (X @ w + b)
    assert abs(residual.std() - 0.1) < 5 * 0.1 / np.sqrt(2 * 2000)  # noise standard deviation
    w_hat = np.linalg.lstsq(np.c_[X, np.ones(2000)], y, rcond=None)[0]
    np.testing.assert_allclose(w_hat, [*w, b], atol=0.02)
    X0, y0 = D.linear_regression(rng(3), n=5, d=2, noise=0.0, w=[1.0, -2.0], b=3.0)
    np.testing.assert_allclose(y0, X0 @ [1.0, -2.0] + 3.0, rtol=1e-15)
    with pytest.raises(ValueError, match="w must have shape"):
        D.linear_regression(rng(), n=5, d=2, w=[1.0])


def test_sparse_features():
    x, y = D.sparse_features(rng(4), n=100, sparsity=0.8, w=2.0, b=-1.0)
    assert x.shape == y.shape == (100,)
    assert np.count_nonzero(x == 0) == 80
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-(2.0 * x - 1.0))), rtol=1e-15)
    assert np.all(np.abs(x) <= 2.0)
    dense, _ = D.sparse_features(rng(4), n=100, sparsity=0.0)
    assert np.count_nonzero(dense == 0) == 0
    with pytest.raises(ValueError, match="sparsity"):
        D.sparse_features(rng(), sparsity=1.5)


def test_two_moons_geometry():
    X, y = D.two_moons(rng(5), n=200, noise=0.0)
    assert set(np.unique(y)) == {0, 1} and np.count_nonzero(y == 0) == 100
    np.testing.assert_allclose(np.linalg.norm(X[y == 0], axis=1), 1.0)  # upper unit half circle
    assert np.all(X[y == 0, 1] >= -1e-12)
    centred = X[y == 1] - [1.0, 0.5]  # lower half circle centred at (1, 0.5)
    np.testing.assert_allclose(np.linalg.norm(centred, axis=1), 1.0)
    assert np.all(centred[:, 1] <= 1e-12)
    assert not np.all(np.diff(y) >= 0)  # shuffled, not sorted by class


def test_circles_geometry():
    X, y = D.circles(rng(6), n=100, noise=0.0, factor=0.3)
    radius = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)
    with pytest.raises(ValueError, match="factor"):
        D.circles(rng(), factor=1.0)


def test_spirals_geometry():
    X, y = D.spirals(rng(7), n=301, n_classes=4, noise=0.0)
    assert np.bincount(y).tolist() == [76, 75, 75, 75]
    r = np.linalg.norm(X, axis=1)
    assert r.max() == pytest.approx(1.0) and r.min() == 0.0
    # noise-free: for each class the angle grows linearly with the radius
    for c in range(4):
        rc, Xc = r[y == c], X[y == c]
        keep = rc > 0
        angle = np.arctan2(Xc[keep, 0], Xc[keep, 1])  # point = r (sin a, cos a)
        expected = 2 * np.pi * (0.65 * rc[keep] + c / 4)
        np.testing.assert_allclose(np.angle(np.exp(1j * (angle - expected))), 0.0, atol=1e-12)


@pytest.mark.parametrize("make", [D.two_moons, D.spirals, D.circles, D.sparse_features])
def test_noise_and_n_validation(make):
    with pytest.raises(ValueError, match="n"):
        make(rng(), n=0)
    with pytest.raises(ValueError, match="n"):
        make(rng(), n=2.5)
    with pytest.raises(TypeError, match="rng"):
        make(0)
    if make is not D.sparse_features:
        with pytest.raises(ValueError, match="noise"):
            make(rng(), noise=-0.1)


# ---------------------------------------------------------------- minibatches


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), batch_size=st.integers(1, 50), drop_last=st.booleans(),
       shuffle=st.booleans(), seed=st.integers(0, 2**32 - 1))  # fmt: skip
def test_minibatches_cover_each_example_once(n, batch_size, drop_last, shuffle, seed):
    X = np.arange(2 * n, dtype=float).reshape(n, 2)
    y = np.arange(n)
    batches = list(D.minibatches(X, y, batch_size, rng(seed), shuffle, drop_last))
    sizes = [len(yb) for _, yb in batches]
    full, rest = divmod(n, batch_size)
    assert sizes == [batch_size] * full + ([rest] if rest and not drop_last else [])
    seen = np.concatenate([yb for _, yb in batches]) if batches else np.array([], int)
    assert len(np.unique(seen)) == len(seen)  # no example twice
    if not drop_last:
        assert sorted(seen.tolist()) == list(range(n))  # every example once
    for Xb, yb in batches:
        np.testing.assert_array_equal(Xb, X[yb])  # rows stay paired with their labels
    if not shuffle:
        np.testing.assert_array_equal(seen, np.arange(len(seen)))


def test_minibatches_fresh_permutation_each_call_and_seeded():
    X, y = np.zeros((100, 1)), np.arange(100)
    r = rng(8)
    first = np.concatenate([yb for _, yb in D.minibatches(X, y, 10, r)])
    second = np.concatenate([yb for _, yb in D.minibatches(X, y, 10, r)])
    assert not np.array_equal(first, second)
    again = np.concatenate([yb for _, yb in D.minibatches(X, y, 10, rng(8))])
    np.testing.assert_array_equal(first, again)
    before = global_state()
    list(D.minibatches(X, y, 7, rng(9)))
    assert same_state(before, global_state())


def test_minibatches_return_copies_and_leave_inputs_alone():
    X, y = np.arange(6.0).reshape(3, 2), np.arange(3)
    Xc = X.copy()
    for Xb, _ in D.minibatches(X, y, 2, None, shuffle=False):
        Xb[:] = -1.0
    np.testing.assert_array_equal(X, Xc)


def test_minibatches_validation():
    X, y = np.zeros((5, 2)), np.zeros(5)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            D.minibatches(X, y, bad, rng())
    with pytest.raises(ValueError, match="same length"):
        D.minibatches(X, np.zeros(4), 2, rng())
    with pytest.raises(TypeError, match="rng"):
        D.minibatches(X, y, 2, None)
