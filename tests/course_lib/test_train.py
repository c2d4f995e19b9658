"""Tests for course_lib.train: minimize against closed forms (GD on quadratics, Newton),
early stopping, divergence without warnings; fit on two moons (loss goes down, seeded
determinism), per-epoch bookkeeping, gradient clipping, validation, bad input."""

import math
import subprocess
import sys
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from course_lib import data, functions, optim
from course_lib.nn import MLP
from course_lib.train import History, Trace, fit, minimize


def diagonal_quadratic(a):
    """f(x) = sum_i a_i x_i^2 / 2, written here independently of course_lib.functions."""
    a = np.asarray(a, dtype=float)
    return SimpleNamespace(name="diag", dim=len(a), x0=np.ones(len(a)),
                           f=lambda x: 0.5 * np.sum(a * x**2), grad=lambda x: a * x)


# ---- minimize -------------------------------------------------------------------------------
@pytest.mark.parametrize("a, lr", [(1.0, 0.1), (2.0, 0.3), (4.0, 0.45)])
def test_gd_on_parabola_is_the_closed_form(a, lr):
    x0, steps = 1.5, 25
    trace = minimize(functions.parabola_1d(a), x0, optim.gd(lr), steps)
    t = np.arange(steps + 1)
    x_t = (1 - lr * a) ** t * x0  # x_t = (1 - lr a)^t x_0
    assert isinstance(trace, Trace) and trace.points.shape == (steps + 1,)
    np.testing.assert_allclose(trace.points, x_t, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(trace.values, a * x_t**2 / 2, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(trace.grad_norms, np.abs(a * x_t), rtol=1e-12, atol=1e-300)
    assert not trace.converged and not trace.diverged


def test_gd_on_2d_diagonal_quadratic_is_the_closed_form():
    a, lr, steps = np.array([1.0, 10.0]), 0.15, 30
    trace = minimize(diagonal_quadratic(a), np.array([2.0, -1.0]), optim.gd(lr), steps)
    t = np.arange(steps + 1)[:, None]
    x_t = (1 - lr * a) ** t * np.array([2.0, -1.0])  # each coordinate on its own
    assert trace.points.shape == (steps + 1, 2)
    np.testing.assert_allclose(trace.points, x_t, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(trace.grad_norms, np.linalg.norm(a * x_t, axis=1), rtol=1e-12)


def test_newton_on_a_quadratic_stops_at_the_minimiser_after_one_step():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    obj = functions.quadratic(A, b)
    trace = minimize(obj, np.array([5.0, 5.0]), optim.newton(obj.hess), 10, tol=1e-10)
    assert len(trace.points) == 2 and trace.converged
    np.testing.assert_allclose(trace.points[-1], np.linalg.solve(A, b), rtol=1e-12)


def test_default_start_is_the_objectives_x0():
    obj = functions.rosenbrock()
    trace = minimize(obj, None, optim.gd(1e-3), 3)
    np.testing.assert_array_equal(trace.points[0], obj.x0)


def test_early_stopping_with_tol():
    # f = x^2 / 2, lr 0.5: |grad f(x_t)| = |x_t| = 1.5 / 2^t < 1e-3 first at t = 11
    obj = functions.parabola_1d(1.0)
    trace = minimize(obj, 1.5, optim.gd(0.5), 1000, tol=1e-3)
    assert trace.converged and not trace.diverged
    assert len(trace.points) == 12
    assert trace.grad_norms[-1] < 1e-3 <= trace.grad_norms[-2]
    assert minimize(obj, 1.5, optim.gd(0.5), 30, tol=0.0).points.shape == (31,)
    assert minimize(obj, 0.0, optim.gd(0.5), 30, tol=1e-8).points.shape == (1,)


def test_divergence_is_detected_without_warnings():
    # f = x^2, lr 1.5: x_t = 1.5 (-2)^t, f(x_t) = 2.25 4^t is finite up to t = 511
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trace = minimize(functions.parabola_1d(2.0), 1.5, optim.gd(1.5), 5000)
    assert trace.diverged and not trace.converged
    assert len(trace.points) == 512
    assert np.isfinite(trace.values).all() and np.isfinite(trace.grad_norms).all()
    assert trace.points[-1] == pytest.approx(1.5 * (-2.0) ** 511, rel=1e-12)


def test_divergence_to_nan_is_detected():
    obj = SimpleNamespace(name="log", dim=1, x0=1.0, f=lambda x: np.log(x), grad=lambda x: 1 / x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trace = minimize(obj, 1.0, optim.gd(2.0), 10)  # x_1 = 1 - 2 = -1: log(-1) = nan
    assert trace.diverged and trace.points.shape == (1,)


def test_minimize_does_not_mutate_x0():
    x0 = np.array([1.0, -2.0])
    minimize(diagonal_quadratic([1.0, 2.0]), x0, optim.sgd(0.1, momentum=0.9), 5)
    np.testing.assert_array_equal(x0, [1.0, -2.0])


@pytest.mark.parametrize("kwargs, err, match", [
    ({"steps": -1}, ValueError, "Invalid steps: -1"),
    ({"steps": 2.5}, TypeError, "steps must be an int"),
    ({"tol": -1e-3}, ValueError, "Invalid tol: -0.001"),
    ({"x0": np.zeros(3)}, ValueError, r"x0 must have shape \(2,\)"),
    ({"optimizer": "sgd"}, TypeError, "optimizer must be a Transform"),
])
def test_minimize_bad_input(kwargs, err, match):
    args = {"objective": diagonal_quadratic([1.0, 2.0]), "x0": np.ones(2),
            "optimizer": optim.gd(0.1), "steps": 5, **kwargs}
    with pytest.raises(err, match=match):
        minimize(**args)


def test_minimize_1d_needs_a_scalar_start():
    with pytest.raises(ValueError, match=r"x0 must have shape \(\)"):
        minimize(functions.parabola_1d(), np.array([1.0]), optim.gd(0.1), 5)
    with pytest.raises(ValueError, match="not finite at x0"):
        minimize(functions.parabola_1d(), np.inf, optim.gd(0.1), 5)


# ---- fit ------------------------------------------------------------------------------------
def moons(seed=0, n=120):
    return data.two_moons(np.random.default_rng(seed), n=n, noise=0.1)


def test_fit_reduces_the_loss_on_two_moons():
    X, y = moons()
    model = MLP([2, 16, 16, 2], activation="tanh")
    hist = fit(model, X, y, optim.adam(0.02), epochs=40, batch_size=16,
               rng=np.random.default_rng(1))
    assert isinstance(hist, History) and not hist.diverged
    assert hist.losses.shape == (40 * math.ceil(120 / 16),)
    assert hist.epoch_losses.shape == (40,) and hist.val_losses.shape == (0,)
    assert hist.epoch_losses[-1] < 0.25 * hist.epoch_losses[0]
    assert model.loss(hist.params, X, y) < 0.1
    assert model.accuracy(hist.params, X, y) > 0.95


def test_fit_is_deterministic_for_a_seed():
    X, y = moons()
    model = MLP([2, 8, 2])

    def run(seed):
        return fit(model, X, y, optim.sgd(0.1, momentum=0.9), 5, 20, np.random.default_rng(seed))

    h1, h2, h3 = run(3), run(3), run(4)
    np.testing.assert_array_equal(h1.losses, h2.losses)
    for k in h1.params:
        np.testing.assert_array_equal(h1.params[k], h2.params[k])
    assert not np.array_equal(h1.losses, h3.losses)


def test_epoch_loss_is_the_batch_size_weighted_mean():
    X, y = moons(n=50)
    hist = fit(MLP([2, 4, 2]), X, y, optim.sgd(0.05), 3, 20, np.random.default_rng(0))
    per_epoch = hist.losses.reshape(3, 3)  # batches of 20, 20, 10
    np.testing.assert_allclose(hist.epoch_losses, per_epoch @ np.array([20, 20, 10]) / 50,
                               rtol=1e-14)


def test_full_batch_step_is_plain_gradient_descent_with_clipping():
    # one batch holding every example, one epoch: w_1 = w_0 - lr g min(1, c / (||g|| + 1e-6))
    X, y = moons(n=40)
    model = MLP([2, 5, 2])
    p0 = model.init(np.random.default_rng(5))
    loss0, g = model.loss_and_grad(p0, X, y)
    norm = math.sqrt(sum(np.sum(v**2) for v in g.values()))
    lr, c = 0.5, 0.01
    hist = fit(model, X, y, optim.sgd(lr), 1, 40, np.random.default_rng(0), clip=c, params=p0)
    assert hist.losses[0] == pytest.approx(loss0, rel=1e-14)
    assert hist.grad_norms[0] == pytest.approx(norm, rel=1e-12)
    for k in p0:
        np.testing.assert_allclose(hist.params[k], p0[k] - lr * g[k] * c / (norm + 1e-6),
                                   rtol=1e-12, atol=1e-15)


def test_clipping_bounds_the_parameter_change():
    X, y = moons()
    model = MLP([2, 16, 2])
    p0 = model.init(np.random.default_rng(2))
    lr, c, epochs, batches = 0.5, 1e-4, 2, math.ceil(120 / 10)

    def change(clip):
        hist = fit(model, X, y, optim.sgd(lr), epochs, 10, np.random.default_rng(0),
                   clip=clip, params=p0)
        return hist, math.sqrt(sum(np.sum((hist.params[k] - p0[k]) ** 2) for k in p0))

    hist, clipped = change(c)
    assert np.all(hist.grad_norms > c)  # clipping was active on every update
    assert clipped <= epochs * batches * lr * c  # each step has norm <= lr c
    _, free = change(None)
    assert free > 100 * clipped


def test_zero_epochs_returns_the_start():
    X, y = moons(n=20)
    model = MLP([2, 3, 2])
    p0 = model.init(np.random.default_rng(0))
    hist = fit(model, X, y, optim.sgd(0.1), 0, 4, np.random.default_rng(0), params=p0)
    assert hist.losses.shape == hist.epoch_losses.shape == hist.grad_norms.shape == (0,)
    for k in p0:
        np.testing.assert_array_equal(hist.params[k], p0[k])


def test_validation_losses():
    X, y = moons(seed=0)
    X_val, y_val = moons(seed=1, n=60)
    model = MLP([2, 8, 2])
    hist = fit(model, X, y, optim.adam(0.01), 4, 32, np.random.default_rng(0),
               X_val=X_val, y_val=y_val)
    assert hist.val_losses.shape == (4,)
    assert hist.val_losses[-1] == pytest.approx(model.loss(hist.params, X_val, y_val), rel=1e-14)


def test_progress_bar_goes_to_stderr_and_changes_nothing(capsys):
    X, y = moons(n=40)
    model = MLP([2, 4, 2])
    quiet = fit(model, X, y, optim.sgd(0.1), 3, 10, np.random.default_rng(0))
    capsys.readouterr()
    loud = fit(model, X, y, optim.sgd(0.1), 3, 10, np.random.default_rng(0), progress=True)
    assert "3/3" in capsys.readouterr().err
    np.testing.assert_array_equal(quiet.losses, loud.losses)


def test_fit_stops_at_divergence_without_warnings():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)) * 10
    y = X @ np.array([1.0, -2.0, 0.5])
    model = MLP([3, 1], activation="identity", loss="mse")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hist = fit(model, X, y, optim.sgd(1.0), 1000, 8, np.random.default_rng(1))
    assert hist.diverged
    assert 0 < len(hist.losses) < 1000 * 8
    assert np.isfinite(hist.losses).all()
    assert len(hist.epoch_losses) == len(hist.losses) // 8


@pytest.mark.parametrize("kwargs, err, match", [
    ({"epochs": -1}, ValueError, "Invalid epochs: -1"),
    ({"batch_size": 0}, ValueError, "Invalid batch_size: 0"),
    ({"rng": 0}, TypeError, "rng must be a np.random.Generator"),
    ({"clip": 0.0}, ValueError, r"Invalid clip \(max_norm\): 0.0"),
    ({"X_val": np.zeros((3, 2))}, ValueError, "X_val and y_val must be given together"),
    ({"y": np.zeros(5, dtype=int)}, ValueError, "X and y must have the same length"),
    ({"model": object()}, TypeError, "model must have init"),
    ({"optimizer": None}, TypeError, "optimizer must be a Transform"),
])
def test_fit_bad_input(kwargs, err, match):
    X, y = moons(n=20)
    args = {"model": MLP([2, 3, 2]), "X": X, "y": y, "optimizer": optim.sgd(0.1), "epochs": 1,
            "batch_size": 4, "rng": np.random.default_rng(0), **kwargs}
    with pytest.raises(err, match=match):
        fit(**args)


def test_module_imports_neither_matplotlib_nor_tqdm():
    code = ("import sys, course_lib.train; "
            "assert 'matplotlib' not in sys.modules and 'tqdm' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
