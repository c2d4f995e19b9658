"""Tests for course_lib.optim.

The reference loops below are written from the pseudo-code in the torch.optim documentation
(SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW) with plain numpy and without the library's
building blocks; 60 steps on seeded random arrays must agree to 1e-12 relative. Then closed
forms, the change of variables between Nesterov forms, convergence, validation, trees.
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import optim, schedules

STEPS = 60
SHAPE = (4, 3)


# ----------------------------------------------------------------------------------------------
# Problem: g(w, k) = c * w + noise_k (a random diagonal quadratic plus seeded noise)
# ----------------------------------------------------------------------------------------------

def make_problem(seed=0, shape=SHAPE):
    rng = np.random.default_rng(seed)
    w0 = rng.normal(size=shape)
    c = rng.uniform(0.5, 2.0, size=shape)
    noise = rng.normal(size=(STEPS, *shape))
    return w0, (lambda w, k: c * w + noise[k])


def run_library(opt, w0, grad, steps=STEPS):
    """Trajectory (steps + 1, ...) of params under ``opt``."""
    w, state, out = w0, opt.init(w0), [w0]
    for k in range(steps):
        updates, state = opt.update(grad(w, k), state, w)
        w = optim.apply_updates(w, updates)
        out.append(w)
    return np.array(out)


def lr_at(lr, t):
    """The learning rate of 1-based step t for a float or a 0-based schedule."""
    return lr(t - 1) if callable(lr) else lr


def assert_rel(actual, expected, rtol=1e-12):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    assert actual.shape == expected.shape
    err = np.max(np.abs(actual - expected)) / np.max(np.abs(expected))
    assert err <= rtol, f"max relative error {err:.3e} > {rtol:.0e}"


# ----------------------------------------------------------------------------------------------
# Reference loops (torch.optim documentation pseudo-code)
# ----------------------------------------------------------------------------------------------

def ref_sgd(w0, grad, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    theta, b, out = w0.copy(), None, [w0.copy()]
    for t in range(1, STEPS + 1):
        g = grad(theta, t - 1)
        if weight_decay != 0:
            g = g + weight_decay * theta
        if momentum != 0:
            b = momentum * b + (1 - dampening) * g if t > 1 else g
            g = g + momentum * b if nesterov else b
        theta = theta - lr_at(lr, t) * g
        out.append(theta)
    return np.array(out)


def ref_adagrad(w0, grad, lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                eps=1e-10, eps_inside_sqrt=False):
    theta, out = w0.copy(), [w0.copy()]
    state_sum = np.full_like(w0, initial_accumulator_value)
    for t in range(1, STEPS + 1):
        g = grad(theta, t - 1)
        clr = lr_at(lr, t) / (1 + (t - 1) * lr_decay)
        if weight_decay != 0:
            g = g + weight_decay * theta
        state_sum = state_sum + g * g
        denom = np.sqrt(state_sum + eps) if eps_inside_sqrt else np.sqrt(state_sum) + eps
        theta = theta - clr * g / denom
        out.append(theta)
    return np.array(out)


def ref_rmsprop(w0, grad, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                centered=False, eps_inside_sqrt=False):
    theta, out = w0.copy(), [w0.copy()]
    v, b, g_ave = np.zeros_like(w0), np.zeros_like(w0), np.zeros_like(w0)
    for t in range(1, STEPS + 1):
        g = grad(theta, t - 1)
        if weight_decay != 0:
            g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g * g
        v_tilde = v
        if centered:
            g_ave = alpha * g_ave + (1 - alpha) * g
            v_tilde = v_tilde - g_ave * g_ave
        denom = np.sqrt(v_tilde + eps) if eps_inside_sqrt else np.sqrt(v_tilde) + eps
        if momentum > 0:
            b = momentum * b + g / denom
            theta = theta - lr_at(lr, t) * b
        else:
            theta = theta - lr_at(lr, t) * g / denom
        out.append(theta)
    return np.array(out)


def ref_adadelta(w0, grad, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    theta, out = w0.copy(), [w0.copy()]
    v, u = np.zeros_like(w0), np.zeros_like(w0)
    for t in range(1, STEPS + 1):
        g = grad(theta, t - 1)
        if weight_decay != 0:
            g = g + weight_decay * theta
        v = v * rho + g * g * (1 - rho)
        dx = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = u * rho + dx * dx * (1 - rho)
        theta = theta - lr_at(lr, t) * dx
        out.append(theta)
    return np.array(out)


def ref_adam(w0, grad, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
             decoupled=False):
    b1, b2 = betas
    theta, out = w0.copy(), [w0.copy()]
    m, v, v_max = np.zeros_like(w0), np.zeros_like(w0), np.zeros_like(w0)
    for t in range(1, STEPS + 1):
        g = grad(theta, t - 1)
        if decoupled:  # AdamW
            theta = theta - lr_at(lr, t) * weight_decay * theta
        elif weight_decay != 0:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - b2**t)
        else:
            v_hat = v / (1 - b2**t)
        theta = theta - lr_at(lr, t) * m_hat / (np.sqrt(v_hat) + eps)
        out.append(theta)
    return np.array(out)


def combos(**options):
    keys = list(options)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*options.values())]


SGD_CASES = [c for c in combos(momentum=[0.0, 0.9], dampening=[0.0, 0.5], nesterov=[False, True],
                               weight_decay=[0.0, 0.1])
             if not (c["nesterov"] and (c["momentum"] == 0 or c["dampening"] != 0))]
ADAGRAD_CASES = combos(lr_decay=[0.0, 0.05], weight_decay=[0.0, 0.1],
                       initial_accumulator_value=[0.0, 0.5], eps_inside_sqrt=[False, True])
RMSPROP_CASES = combos(centered=[False, True], momentum=[0.0, 0.9], weight_decay=[0.0, 0.1],
                       eps_inside_sqrt=[False, True])
ADADELTA_CASES = combos(lr=[1.0, 0.5], rho=[0.9, 0.5], weight_decay=[0.0, 0.1])
ADAM_CASES = combos(betas=[(0.9, 0.999), (0.5, 0.9)], weight_decay=[0.0, 0.1],
                    amsgrad=[False, True])


@pytest.mark.parametrize("kw", SGD_CASES, ids=str)
def test_sgd_matches_torch_pseudocode(kw):
    w0, grad = make_problem(1)
    assert_rel(run_library(optim.sgd(0.05, **kw), w0, grad), ref_sgd(w0, grad, 0.05, **kw))


@pytest.mark.parametrize("kw", ADAGRAD_CASES, ids=str)
def test_adagrad_matches_torch_pseudocode(kw):
    w0, grad = make_problem(2)
    assert_rel(run_library(optim.adagrad(0.3, **kw), w0, grad), ref_adagrad(w0, grad, 0.3, **kw))


@pytest.mark.parametrize("kw", RMSPROP_CASES, ids=str)
def test_rmsprop_matches_torch_pseudocode(kw):
    w0, grad = make_problem(3)
    assert_rel(run_library(optim.rmsprop(0.01, **kw), w0, grad),
               ref_rmsprop(w0, grad, 0.01, **kw))


@pytest.mark.parametrize("kw", ADADELTA_CASES, ids=str)
def test_adadelta_matches_torch_pseudocode(kw):
    w0, grad = make_problem(4)
    assert_rel(run_library(optim.adadelta(**kw), w0, grad), ref_adadelta(w0, grad, **kw))


@pytest.mark.parametrize("kw", ADAM_CASES, ids=str)
def test_adam_matches_torch_pseudocode(kw):
    w0, grad = make_problem(5)
    assert_rel(run_library(optim.adam(0.05, **kw), w0, grad), ref_adam(w0, grad, 0.05, **kw))


@pytest.mark.parametrize("kw", combos(weight_decay=[0.0, 0.1, 1.0], amsgrad=[False, True]),
                         ids=str)
def test_adamw_matches_torch_pseudocode(kw):
    w0, grad = make_problem(6)
    assert_rel(run_library(optim.adamw(0.05, **kw), w0, grad),
               ref_adam(w0, grad, 0.05, decoupled=True, **kw))


def test_defaults_equal_torch():
    w0, grad = make_problem(7)
    assert_rel(run_library(optim.adagrad(), w0, grad), ref_adagrad(w0, grad, 1e-2))
    assert_rel(run_library(optim.rmsprop(), w0, grad), ref_rmsprop(w0, grad, 1e-2))
    assert_rel(run_library(optim.adadelta(), w0, grad), ref_adadelta(w0, grad, 1.0))
    assert_rel(run_library(optim.adam(), w0, grad), ref_adam(w0, grad, 1e-3))
    assert_rel(run_library(optim.adamw(), w0, grad),
               ref_adam(w0, grad, 1e-3, weight_decay=1e-2, decoupled=True))


@pytest.mark.parametrize("name, ref", [
    ("sgd", lambda w0, g, lr: ref_sgd(w0, g, lr, momentum=0.9, nesterov=True)),
    ("adagrad", lambda w0, g, lr: ref_adagrad(w0, g, lr, lr_decay=0.05)),
    ("rmsprop", lambda w0, g, lr: ref_rmsprop(w0, g, lr, momentum=0.5, centered=True)),
    ("adadelta", ref_adadelta),
    ("adam", lambda w0, g, lr: ref_adam(w0, g, lr, amsgrad=True)),
    ("adamw", lambda w0, g, lr: ref_adam(w0, g, lr, weight_decay=0.1, decoupled=True)),
])
def test_schedule_as_lr_is_counted_by_the_optimizer(name, ref):
    kwargs = {"sgd": dict(momentum=0.9, nesterov=True), "adagrad": dict(lr_decay=0.05),
              "rmsprop": dict(momentum=0.5, centered=True), "adadelta": {},
              "adam": dict(amsgrad=True), "adamw": dict(weight_decay=0.1)}[name]
    sched = schedules.step_lr(0.05, step_size=7, gamma=0.5)
    w0, grad = make_problem(8)
    lib = run_library(getattr(optim, name)(sched, **kwargs), w0, grad)
    assert_rel(lib, ref(w0, grad, sched))
    # and the schedule matters: a constant rate gives another trajectory
    assert not np.allclose(lib, ref(w0, grad, 0.05))


def test_every_option_changes_the_trajectory():
    """So that the reference comparisons above are not vacuous."""
    w0, grad = make_problem(9)
    pairs = [(optim.sgd(0.05, momentum=0.9), optim.sgd(0.05, momentum=0.9, dampening=0.5)),
             (optim.sgd(0.05, momentum=0.9), optim.sgd(0.05, momentum=0.9, nesterov=True)),
             (optim.adagrad(0.3), optim.adagrad(0.3, lr_decay=0.05)),
             (optim.adagrad(0.3), optim.adagrad(0.3, initial_accumulator_value=0.5)),
             (optim.rmsprop(0.01), optim.rmsprop(0.01, centered=True)),
             (optim.rmsprop(0.01), optim.rmsprop(0.01, eps_inside_sqrt=True)),
             (optim.adam(0.05), optim.adam(0.05, amsgrad=True)),
             (optim.adam(0.05, weight_decay=0.1), optim.adamw(0.05, weight_decay=0.1))]
    for a, b in pairs:
        assert not np.allclose(run_library(a, w0, grad), run_library(b, w0, grad))


# ----------------------------------------------------------------------------------------------
# Building blocks and states
# ----------------------------------------------------------------------------------------------

def test_momentum_buffer_first_step_is_the_gradient_without_dampening():
    g1, g2 = np.array([1.0, -2.0]), np.array([0.5, 4.0])
    tr = optim.trace(0.9, dampening=0.5)
    out1, s1 = tr.update(g1, tr.init(g1))
    np.testing.assert_array_equal(out1, g1)  # b_1 = g_1, not (1 - 0.5) g_1
    out2, s2 = tr.update(g2, s1)
    np.testing.assert_allclose(out2, [0.9 * 1.0 + 0.5 * 0.5, 0.9 * -2.0 + 0.5 * 4.0], rtol=1e-15)
    assert s2.step == 2


def test_adam_state_by_hand():
    g = np.array([2.0, -1.0])
    block = optim.scale_by_adam(0.9, 0.999, eps=0.0)
    out, state = block.update(g, block.init(g))
    np.testing.assert_allclose(state.m, [0.2, -0.1], rtol=1e-15)
    np.testing.assert_allclose(state.v, [0.004, 0.001], rtol=1e-12)
    np.testing.assert_allclose(out, [1.0, -1.0], rtol=1e-12)  # m_hat / sqrt(v_hat) = sign(g)
    assert state.step == 1 and state.v_max is None
    assert "AdamState(step=1" in repr(state)


def test_update_moment_and_bias_correction_by_hand():
    g, m = np.array([2.0, -1.0]), np.array([1.0, 1.0])
    np.testing.assert_allclose(optim._update_moment(g, m, 0.5, 1), [1.5, 0.0], rtol=1e-15)
    np.testing.assert_allclose(optim._update_moment(g, m, 0.5, 2), [2.5, 1.0], rtol=1e-15)
    # the first EMA step from 0 is (1 - beta) g: the correction gives g back
    first = optim._update_moment(g, np.zeros(2), 0.9, 1)
    np.testing.assert_allclose(optim._bias_correction(first, 0.9, 1), g, rtol=1e-15)
    tree = optim._update_moment({"a": g, "b": np.array(3.0)}, {"a": m, "b": np.array(1.0)}, 0.5, 1)
    assert tree["b"].shape == () and float(tree["b"]) == 2.0
    assert optim._bias_correction(tree, 0.5, 1)["b"] == 4.0
    np.testing.assert_array_equal(m, [1.0, 1.0])  # nothing is written into the arguments


def test_amsgrad_keeps_the_running_max_of_v():
    block = optim.scale_by_adam(0.0, 0.5, eps=0.0, amsgrad=True)
    state = block.init(np.zeros(1))
    _, state = block.update(np.array([4.0]), state)  # v = 8
    _, state = block.update(np.array([0.0]), state)  # v = 4, v_max = 8
    np.testing.assert_allclose(state.v, [4.0])
    np.testing.assert_allclose(state.v_max, [8.0])


def test_scale_and_add_decayed_weights():
    g, w = np.array([1.0, 2.0]), np.array([3.0, -4.0])
    np.testing.assert_allclose(optim.scale(-2.0).update(g, optim.EmptyState())[0], [-2.0, -4.0])
    upd, _ = optim.add_decayed_weights(0.5).update(g, optim.EmptyState(), w)
    np.testing.assert_allclose(upd, [2.5, 0.0])
    upd, _ = optim.scale_by_learning_rate(0.1).update(g, optim.EmptyState())
    np.testing.assert_allclose(upd, [-0.1, -0.2])


def test_schedule_state_counts_from_zero():
    seen = []
    opt = optim.gd(lambda step: seen.append(step) or 0.1)
    state = opt.init(np.zeros(2))
    for _ in range(3):
        _, state = opt.update(np.ones(2), state)
    assert seen == [0, 1, 2] and state == optim.ScheduleState(3)


def test_chain_state_is_a_printable_tuple():
    opt = optim.adam(0.1, weight_decay=0.1)
    state = opt.init({"w": np.zeros(2)})
    assert isinstance(state, tuple) and len(state) == 3
    assert isinstance(state[1], optim.AdamState)
    assert "AdamState" in repr(state)


# ----------------------------------------------------------------------------------------------
# Closed forms
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("a, lr", [(1.0, 0.1), (2.0, 0.3), (10.0, 0.15), (0.5, 1.0)])
def test_gd_on_parabola_matches_closed_form(a, lr):
    # f(x) = a x^2 / 2, x_t = (1 - lr a)^t x_0 (0-d and 1-d parameters)
    for x0 in (np.array(1.5), np.array([1.5, -0.25])):
        traj = run_library(optim.gd(lr), x0, lambda x, k: a * x, steps=50)
        t = np.arange(51).reshape((-1,) + (1,) * x0.ndim)
        assert_rel(traj, (1 - lr * a) ** t * x0)


@pytest.mark.parametrize("lr, betas", [(1e-3, (0.9, 0.999)), (0.1, (0.5, 0.9))])
def test_adam_first_step_has_magnitude_lr(lr, betas):
    rng = np.random.default_rng(10)
    w, g = rng.normal(size=20), rng.normal(size=20)
    opt = optim.adam(lr, betas)
    upd, _ = opt.update(g, opt.init(w), w)
    # m_hat_1 = g, v_hat_1 = g^2: the step is -lr g / (|g| + eps)
    assert_rel(upd, -lr * g / (np.abs(g) + 1e-8))
    np.testing.assert_allclose(np.abs(upd), lr, rtol=1e-6)


def test_ema_momentum_equals_classical_with_scaled_lr():
    w0, grad = make_problem(11)
    lr, beta = 0.1, 0.9
    ema_traj = run_library(optim.momentum_ema(lr, beta), w0, grad)
    assert_rel(ema_traj, run_library(optim.sgd(lr * (1 - beta), momentum=beta), w0, grad))
    # with dampening = beta the first step differs (b_1 = g_1 but v_1 = (1 - beta) g_1)
    damped = run_library(optim.sgd(lr, momentum=beta, dampening=beta), w0, grad)
    assert not np.allclose(ema_traj, damped)


def ref_change_form(w0, grad, lr, mu):
    """The "change" form dx_t = lr_t g_t + mu dx_{t-1}; w -= dx (lr inside the buffer)."""
    w, dx, out = w0.copy(), np.zeros_like(w0), [w0.copy()]
    for t in range(1, STEPS + 1):
        dx = lr_at(lr, t) * grad(w, t - 1) + mu * dx
        w = w - dx
        out.append(w)
    return np.array(out)


def test_momentum_forms_agree_at_constant_rate_and_differ_under_a_schedule():
    w0, grad = make_problem(12)
    beta, lr = 0.9, 0.1
    sched = schedules.exponential(lr, 0.9)
    scaled = schedules.exponential(lr * (1 - beta), 0.9)
    # constant rate: EMA (lr), classical (lr (1 - beta)) and change form (lr (1 - beta)) agree
    classical = run_library(optim.sgd(lr * (1 - beta), momentum=beta), w0, grad)
    assert_rel(ref_change_form(w0, grad, lr * (1 - beta), beta), classical)
    # under a schedule the forms that apply lr after the buffer still agree ...
    ema_traj = run_library(optim.momentum_ema(sched, beta), w0, grad)
    assert_rel(ema_traj, run_library(optim.sgd(scaled, momentum=beta), w0, grad))
    # ... but the change form (lr folded into the buffer) does not
    assert not np.allclose(ema_traj, ref_change_form(w0, grad, scaled, beta), rtol=1e-6)


def test_sutskever_nag_equals_torch_nesterov_after_change_of_variables():
    # theta_t = w_t + mu v_t and b_t = -v_t / lr map Sutskever's (w, v) to torch's (theta, b)
    w0, grad = make_problem(13)
    lr, mu = 0.05, 0.9
    torch_traj, w, v = [], w0, np.zeros_like(w0)
    opt = optim.sgd(lr, momentum=mu, nesterov=True)
    theta, state = w0, opt.init(w0)
    for k in range(STEPS):
        w, v = optim.nesterov_lookahead_step(w, v, lambda x, k=k: grad(x, k), lr, mu)
        upd, state = opt.update(grad(theta, k), state, theta)
        theta = optim.apply_updates(theta, upd)
        assert_rel(theta, w + mu * v)
        assert_rel(state[0].momentum_buffer, -v / lr)
        torch_traj.append(theta)
    assert not np.allclose(torch_traj[-1], w)  # w and theta are different points


def test_nesterov_lookahead_transform():
    w0, grad = make_problem(14)
    lr, mu = 0.05, 0.9
    opt = optim.nesterov_lookahead(lr, mu)
    theta, state, w, v = w0, opt.init(w0), w0, np.zeros_like(w0)
    for k in range(STEPS):
        upd, state = opt.update(grad(theta, k), state, theta)
        theta = optim.apply_updates(theta, upd)
        w, v = optim.nesterov_lookahead_step(w, v, lambda x, k=k: grad(x, k), lr, mu)
        assert_rel(optim.lookahead_to_weights(theta, state, mu), w)
        assert_rel(state.velocity, v)
    assert_rel(run_library(opt, w0, grad),
               run_library(optim.sgd(lr, momentum=mu, nesterov=True), w0, grad))


def test_damped_newton_hand_computed():
    # f = w^T A w / 2 - b^T w, A = [[3, 1], [1, 2]], b = (1, 1), w_0 = 0, damping 1:
    # (A + I)^{-1} = [[3, -1], [-1, 4]] / 11, g_0 = -b, w_1 = (A + I)^{-1} b = (2, 3) / 11
    A, b = np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([1.0, 1.0])
    w0 = np.zeros(2)
    opt = optim.newton(lambda w: A, damping=1.0)
    upd, _ = opt.update(A @ w0 - b, opt.init(w0), w0)
    np.testing.assert_allclose(optim.apply_updates(w0, upd), [2 / 11, 3 / 11], rtol=1e-14)
    # undamped, lr = 1: one step lands on A^{-1} b = (1, 2) / 5 from anywhere
    w0 = np.array([4.0, -7.0])
    opt = optim.newton(lambda w: A)
    upd, _ = opt.update(A @ w0 - b, opt.init(w0), w0)
    np.testing.assert_allclose(optim.apply_updates(w0, upd), [0.2, 0.4], rtol=1e-14)
    # 0-d parameters: x_1 = x_0 - lr f'(x_0) / (f''(x_0) + damping)
    opt = optim.newton(lambda x: 4.0, lr=0.5, damping=1.0)
    upd, _ = opt.update(np.array(8.0), opt.init(np.array(2.0)), np.array(2.0))
    assert float(upd) == pytest.approx(-0.5 * 8.0 / 5.0, rel=1e-15)
    # shape (1,) with a scalar (or (1, 1)) Hessian
    for hess in (lambda x: 4.0, lambda x: np.array([[4.0]])):
        opt = optim.newton(hess, lr=0.5, damping=1.0)
        upd, _ = opt.update(np.array([8.0]), opt.init(np.array([2.0])), np.array([2.0]))
        np.testing.assert_allclose(upd, [-0.8], rtol=1e-15)


# ----------------------------------------------------------------------------------------------
# Convergence (hyper-parameters given here; tolerance on the distance to the minimiser)
# ----------------------------------------------------------------------------------------------

def rosenbrock_grad(w, a=1.0, b=100.0):
    x, y = w
    return np.array([-2 * (a - x) - 4 * b * x * (y - x * x), 2 * b * (y - x * x)])


def rosenbrock_hess(w, a=1.0, b=100.0):
    x, y = w
    return np.array([[2 - 4 * b * y + 12 * b * x * x, -4 * b * x], [-4 * b * x, 2 * b]])


def steps_to_reach(opt, grad, w0, target, tol, max_steps):
    w, state = w0, opt.init(w0)
    for k in range(max_steps):
        if np.linalg.norm(w - target) < tol:
            return k
        upd, state = opt.update(grad(w), state, w)
        w = optim.apply_updates(w, upd)
    return None


QA = np.array([[2.0, 0.5], [0.5, 1.0]])
QB = np.array([1.0, -1.0])

# name: (optimizer on the quadratic, on Rosenbrock, Rosenbrock tolerance, max steps)
CONVERGENCE = {
    "gd": (optim.gd(0.3), optim.gd(1e-3), 1e-3, 20000),
    "sgd": (optim.sgd(0.3), optim.sgd(1e-3), 1e-3, 20000),
    "sgd_momentum": (optim.sgd(0.1, momentum=0.9), optim.sgd(1e-3, momentum=0.9), 1e-3, 3000),
    "sgd_nesterov": (optim.sgd(0.1, momentum=0.9, nesterov=True),
                     optim.sgd(1e-3, momentum=0.9, nesterov=True), 1e-3, 3000),
    "momentum_ema": (optim.momentum_ema(0.5, 0.9), optim.momentum_ema(1e-2, 0.9), 1e-3, 3000),
    "nesterov_lookahead": (optim.nesterov_lookahead(0.1, 0.9),
                           optim.nesterov_lookahead(1e-3, 0.9), 1e-3, 3000),
    "adagrad": (optim.adagrad(0.5), optim.adagrad(0.5), 1e-3, 12000),
    "rmsprop": (optim.rmsprop(0.01), optim.rmsprop(1e-3), 2e-3, 12000),
    "rmsprop_centered": (optim.rmsprop(0.01, centered=True, momentum=0.5),
                         optim.rmsprop(1e-3, centered=True, momentum=0.5), 2e-3, 5000),
    "adadelta": (optim.adadelta(1.0), optim.adadelta(0.05), 1e-2, 12000),
    "adam": (optim.adam(0.05), optim.adam(0.02), 1e-3, 5000),
    "amsgrad": (optim.adam(0.05, amsgrad=True), optim.adam(0.02, amsgrad=True), 1e-3, 9000),
    "adamw": (optim.adamw(0.05, weight_decay=0.0), optim.adamw(0.02, weight_decay=0.0),
              1e-3, 5000),
    "newton": (optim.newton(lambda w: QA), optim.newton(rosenbrock_hess), 1e-8, 20),
    "newton_damped": (optim.newton(lambda w: QA, damping=0.5),
                      optim.newton(rosenbrock_hess, damping=1.0), 1e-6, 200),
}


@pytest.mark.parametrize("name", CONVERGENCE)
def test_converges_on_quadratic(name):
    opt = CONVERGENCE[name][0]
    target = np.linalg.solve(QA, QB)
    k = steps_to_reach(opt, lambda w: QA @ w - QB, np.array([3.0, 2.0]), target, 1e-4, 20000)
    assert k is not None, f"{name} did not reach 1e-4 of the minimiser"


@pytest.mark.parametrize("name", CONVERGENCE)
def test_converges_on_rosenbrock(name):
    _, opt, tol, max_steps = CONVERGENCE[name]
    k = steps_to_reach(opt, rosenbrock_grad, np.array([-1.2, 1.0]), np.ones(2), tol, max_steps)
    assert k is not None, f"{name} did not reach {tol} of (1, 1) in {max_steps} steps"


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------

BAD_HYPERPARAMETERS = [
    (lambda: optim.sgd(-1.0), ValueError, r"Invalid learning rate: -1\.0 \(lr must be >= 0"),
    (lambda: optim.sgd(float("nan")), ValueError, "Invalid learning rate"),
    (lambda: optim.sgd("0.1"), TypeError, "lr must be a real number"),
    (lambda: optim.sgd(0.1, momentum=-0.5), ValueError, "Invalid momentum value.*>= 0"),
    (lambda: optim.sgd(0.1, weight_decay=-1), ValueError, "Invalid weight_decay value.*>= 0"),
    (lambda: optim.sgd(0.1, momentum=0.9, dampening=2.0), ValueError, r"dampening.*\[0"),
    (lambda: optim.sgd(0.1, nesterov=True), ValueError, "Nesterov momentum requires"),
    (lambda: optim.sgd(0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "zero dampening"),
    (lambda: optim.adam(betas=(1.0, 0.999)), ValueError,
     r"Invalid beta parameter at index 0: 1\.0 \(betas\[0\] must be in \[0\.0, 1\.0\)"),
    (lambda: optim.adam(betas=(0.9, -0.1)), ValueError, "beta parameter at index 1"),
    (lambda: optim.adamw(betas=(0.9,)), TypeError, "betas must be a pair"),
    (lambda: optim.adam(eps=-1e-8), ValueError, "Invalid epsilon value.*eps must be >= 0"),
    (lambda: optim.adam(weight_decay=-0.1), ValueError, "weight_decay"),
    (lambda: optim.adamw(weight_decay=-0.1), ValueError, "weight_decay"),
    (lambda: optim.adagrad(lr_decay=-1), ValueError, "Invalid lr_decay value"),
    (lambda: optim.adagrad(initial_accumulator_value=-1), ValueError,
     "initial_accumulator_value"),
    (lambda: optim.adagrad(eps=-1), ValueError, "epsilon"),
    (lambda: optim.rmsprop(alpha=1.5), ValueError, r"Invalid alpha value.*\[0\.0, 1\.0\]"),
    (lambda: optim.rmsprop(momentum=-1), ValueError, "momentum"),
    (lambda: optim.rmsprop(eps=-1), ValueError, "epsilon"),
    (lambda: optim.adadelta(rho=1.1), ValueError, "Invalid rho value"),
    (lambda: optim.adadelta(lr=-1), ValueError, "learning rate"),
    (lambda: optim.momentum_ema(0.1, beta=1.0), ValueError, r"decay.*\[0\.0, 1\.0\)"),
    (lambda: optim.nesterov_lookahead(0.1, momentum=-1), ValueError, "momentum"),
    (lambda: optim.newton("H"), TypeError, "hess_fn must be callable"),
    (lambda: optim.newton(lambda w: w, damping=-1), ValueError, "damping"),
    (lambda: optim.chain(optim.gd(0.1), "adam"), TypeError, "chain argument 1"),
    (lambda: optim.gd(-0.1), ValueError, "Invalid learning rate"),
    (lambda: optim.scale_by_learning_rate([0.1]), TypeError, "lr must be a real number"),
    (lambda: optim.scale("2"), TypeError, "factor must be a real number"),
    (lambda: optim.trace(-0.1), ValueError, "momentum"),
    (lambda: optim.ema(1.0), ValueError, "decay"),
    (lambda: optim.scale_by_adam(b1=1.0), ValueError, "index 0"),
    (lambda: optim.scale_by_rms(alpha=-0.1), ValueError, "alpha"),
    (lambda: optim.scale_by_adagrad(eps=-1.0), ValueError, "eps must be >= 0"),
    (lambda: optim.scale_by_adadelta(rho=-0.1), ValueError, "rho"),
    (lambda: optim.add_decayed_weights(-1e-4), ValueError, "weight_decay must be >= 0"),
    (lambda: optim.nesterov_lookahead_step(np.zeros(2), np.zeros(3), lambda w: w, 0.1, 0.9),
     ValueError, r"v has shape \(3,\) but w has shape \(2,\)"),
    (lambda: optim.nesterov_lookahead_step(np.zeros(2), np.zeros(2), lambda w: w[:1], 0.1, 0.9),
     ValueError, "grad_fn"),
    (lambda: optim.adam().update(np.zeros(2), "state", np.zeros(2)), ValueError,
     "state must be the tuple"),
]


@pytest.mark.parametrize("make, exc, match", BAD_HYPERPARAMETERS)
def test_bad_hyperparameters_raise(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


ALL_OPTIMIZERS = {
    "sgd": lambda: optim.sgd(0.1, momentum=0.9, weight_decay=0.1),
    "adagrad": lambda: optim.adagrad(),
    "rmsprop": lambda: optim.rmsprop(centered=True, momentum=0.9),
    "adadelta": lambda: optim.adadelta(weight_decay=0.1),
    "adam": lambda: optim.adam(amsgrad=True),
    "adamw": lambda: optim.adamw(),
    "gd": lambda: optim.gd(0.1),
    "momentum_ema": lambda: optim.momentum_ema(0.1),
    "nesterov_lookahead": lambda: optim.nesterov_lookahead(0.1),
}


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_grads_with_other_shape_or_keys_raise(name):
    opt = ALL_OPTIMIZERS[name]()
    w = np.zeros(3)
    with pytest.raises(ValueError, match=r"grads has shape \(1,\) but params has shape \(3,\)"):
        opt.update(np.ones(1), opt.init(w), w)
    with pytest.raises(ValueError, match="shape"):
        opt.update(np.ones((3, 1)), opt.init(w), w)
    p = {"a": np.zeros(2), "b": np.zeros(())}
    with pytest.raises(ValueError, match=r"missing \['b'\], unexpected \['c'\]"):
        opt.update({"a": np.ones(2), "c": np.ones(())}, opt.init(p), p)
    with pytest.raises(ValueError, match=r"grads\['a'\] has shape \(3,\)"):
        opt.update({"a": np.ones(3), "b": np.ones(())}, opt.init(p), p)
    with pytest.raises(TypeError, match="grads must be a dict"):
        opt.update(np.ones(2), opt.init(p), p)


def test_bad_params_and_updates_raise():
    with pytest.raises(TypeError, match="flat dict"):
        optim.adam().init({"a": {"b": np.zeros(2)}})
    with pytest.raises(TypeError, match="use a dict"):
        optim.adam().init([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="real numbers"):
        optim.adam().init(np.array(["a"]))
    with pytest.raises(ValueError, match=r"updates has shape \(1,\)"):
        optim.apply_updates(np.zeros(3), np.ones(1))
    with pytest.raises(ValueError, match="needs params"):
        opt = optim.sgd(0.1, weight_decay=0.1)
        opt.update(np.ones(2), opt.init(np.zeros(2)))
    with pytest.raises(TypeError, match="0-d or 1-d"):
        optim.newton(lambda w: w).init(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="0-d or 1-d"):
        optim.newton(lambda w: w).init({"w": np.zeros(2)})
    with pytest.raises(ValueError, match=r"hess_fn\(params\) has shape \(3, 3\)"):
        opt = optim.newton(lambda w: np.eye(3))
        opt.update(np.ones(2), opt.init(np.zeros(2)), np.zeros(2))


def test_negative_schedule_value_raises():
    opt = optim.sgd(lambda step: 0.1 - 0.05 * step)
    w, state = np.zeros(2), None
    state = opt.init(w)
    for _ in range(3):
        _, state = opt.update(np.ones(2), state, w)
    with pytest.raises(ValueError, match="Invalid learning rate: schedule gave -0.05"):
        opt.update(np.ones(2), state, w)


# ----------------------------------------------------------------------------------------------
# Trees, 0-d parameters, no mutation
# ----------------------------------------------------------------------------------------------

ELEMENTWISE = {**ALL_OPTIMIZERS,
               "adagrad_decay": lambda: optim.adagrad(0.1, lr_decay=0.1, weight_decay=0.1),
               "rmsprop_inside": lambda: optim.rmsprop(eps_inside_sqrt=True, weight_decay=0.1),
               "sgd_nesterov": lambda: optim.sgd(0.1, momentum=0.9, nesterov=True,
                                                 weight_decay=0.1)}


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(sorted(ELEMENTWISE)), split=st.integers(0, 7),
       seed=st.integers(0, 2**16))
def test_dict_params_equal_one_concatenated_array(name, split, seed):
    rng = np.random.default_rng(seed)
    w0 = rng.normal(size=7)
    grads = rng.normal(size=(5, 7))
    flat, tree = ELEMENTWISE[name](), ELEMENTWISE[name]()
    w, s = w0, flat.init(w0)
    d = {"a": w0[:split], "b": w0[split:]}
    ds = tree.init(d)
    for g in grads:
        u, s = flat.update(g + w, s, w)
        w = optim.apply_updates(w, u)
        du, ds = tree.update({"a": g[:split] + d["a"], "b": g[split:] + d["b"]}, ds, d)
        d = optim.apply_updates(d, du)
    np.testing.assert_allclose(np.concatenate([d["a"], d["b"]]), w, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_zero_dim_params(name):
    opt = ELEMENTWISE[name]()
    w1 = np.array([0.7])
    w0, s0, s1 = np.array(0.7), opt.init(np.array(0.7)), opt.init(w1)
    for k in range(5):
        u0, s0 = opt.update(np.array(2 * w0 + k), s0, w0)
        w0 = optim.apply_updates(w0, u0)
        u1, s1 = opt.update(2 * w1 + k, s1, w1)
        w1 = optim.apply_updates(w1, u1)
    assert isinstance(w0, np.ndarray) and w0.shape == () and w0.dtype == np.float64
    assert float(w0) == pytest.approx(float(w1[0]), rel=1e-15)


def snapshot(tree):
    if isinstance(tree, dict):
        return {k: snapshot(v) for k, v in tree.items()}
    if isinstance(tree, tuple):
        return tuple(snapshot(v) for v in tree)
    return np.copy(tree) if isinstance(tree, np.ndarray) else tree


def assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b or (a is None and b is None)


@pytest.mark.parametrize("name", [*ELEMENTWISE, "newton"])
def test_inputs_never_mutated(name):
    opt = optim.newton(lambda w: np.diag([2.0, 3.0, 4.0])) if name == "newton" \
        else ELEMENTWISE[name]()
    rng = np.random.default_rng(15)
    w, state = rng.normal(size=3), None
    state = opt.init(w)
    for _ in range(3):  # several steps, so that every buffer is in use
        g = rng.normal(size=3)
        copies = snapshot((w, g, state))
        upd, new_state = opt.update(g, state, w)
        new_w = optim.apply_updates(w, upd)
        assert_same((w, g, state), copies)
        w, state = new_w, new_state
    dw = {"x": rng.normal(size=2)}
    ds = opt.init(dw) if name != "newton" else None
    if ds is not None:
        g = {"x": rng.normal(size=2)}
        copies = snapshot((dw, g, ds))
        opt.update(g, ds, dw)
        assert_same((dw, g, ds), copies)


def test_integer_params_give_float64():
    opt = optim.adam(0.1)
    w = np.array([1, 2])
    upd, _ = opt.update(np.array([1, -1]), opt.init(w), w)
    new = optim.apply_updates(w, upd)
    assert new.dtype == np.float64
    np.testing.assert_allclose(new, [0.9, 2.1], rtol=1e-6)


def test_tree_map():
    assert optim.tree_map(lambda a, b: a + b, {"x": 1, "y": 2}, {"x": 10, "y": 20}) == \
        {"x": 11, "y": 22}
    assert optim.tree_map(lambda a: -a, 3.0) == -3.0
    with pytest.raises(ValueError, match="keys differ"):
        optim.tree_map(lambda a, b: a, {"x": 1}, {"y": 1})


def test_learning_rate_zero_leaves_params_unchanged():
    w0, grad = make_problem(16)
    for opt in (optim.adam(0.0), optim.sgd(0.0, momentum=0.9), optim.adagrad(0.0)):
        traj = run_library(opt, w0, grad, steps=3)
        np.testing.assert_array_equal(traj[-1], w0)
    assert math.isclose(float(run_library(optim.gd(0.5), np.array(2.0),
                                          lambda w, k: w, steps=1)[-1]), 1.0)
