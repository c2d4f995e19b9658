"""Tests for course_lib.schedules against the formulas documented for torch.optim.lr_scheduler,
hand-computed values at the edges, PyTorch's recursive forms, and use as an optimizer's lr."""

import math

import numpy as np
import pytest

from course_lib import optim, schedules


def values(schedule, steps):
    return np.array([schedule(t) for t in steps])


def test_constant():
    np.testing.assert_array_equal(values(schedules.constant(0.3), range(5)), 0.3)


def test_step_lr_by_hand():
    s = schedules.step_lr(0.1, step_size=3, gamma=0.5)
    np.testing.assert_allclose(values(s, [0, 1, 2, 3, 5, 6, 9]),
                               [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.0125], rtol=1e-15)
    assert schedules.step_lr(1.0, 1)(2) == pytest.approx(0.01)  # default gamma = 0.1


def test_exponential_by_hand():
    s = schedules.exponential(1.0, 0.9)
    np.testing.assert_allclose(values(s, [0, 1, 2, 10]), [1.0, 0.9, 0.81, 0.9**10], rtol=1e-15)


def test_exponential_decay_is_exp_of_minus_kt():
    s = schedules.exponential_decay(2.0, 0.1)
    assert s(0) == 2.0
    assert s(10) == pytest.approx(2.0 / math.e, rel=1e-15)
    assert s(10) != pytest.approx(2.0 ** (-0.1 * 10))  # the misprinted lr0^(-k t)
    np.testing.assert_allclose(values(s, range(20)),
                               values(schedules.exponential(2.0, math.exp(-0.1)), range(20)),
                               rtol=1e-13)


def test_inverse_time_by_hand():
    s = schedules.inverse_time(1.0, 0.5)
    np.testing.assert_allclose(values(s, [0, 1, 2, 6]), [1.0, 1 / 1.5, 0.5, 0.25], rtol=1e-15)


def test_cosine_annealing_closed_form_by_hand():
    s = schedules.cosine_annealing(1.0, T_max=10, eta_min=0.1)
    np.testing.assert_allclose(values(s, [0, 5, 10, 15, 20]), [1.0, 0.55, 0.1, 0.55, 1.0],
                               rtol=1e-14)
    assert s(1) == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi / 10)) / 2, rel=1e-15)


def test_cosine_annealing_matches_torch_recursive_form():
    # CosineAnnealingLR's recursion for 0 < t <= T_max:
    # eta_t = eta_min + (eta_{t-1} - eta_min) (1 + cos(pi t / T)) / (1 + cos(pi (t - 1) / T))
    lr, T, eta_min = 0.5, 17, 0.01
    s = schedules.cosine_annealing(lr, T, eta_min)
    eta = lr
    for t in range(1, T):
        eta = eta_min + (eta - eta_min) * (1 + math.cos(math.pi * t / T)) / (
            1 + math.cos(math.pi * (t - 1) / T))
        assert s(t) == pytest.approx(eta, rel=1e-12)


def test_linear_warmup_by_hand():
    s = schedules.linear_warmup(0.5)  # start_factor = 1/3, end_factor = 1, total_iters = 5
    expected = [0.5 / 3, 0.5 * (1 / 3 + 2 / 3 * 2 / 5), 0.5, 0.5, 0.5]
    np.testing.assert_allclose(values(s, [0, 2, 5, 6, 100]), expected, rtol=1e-15)
    down = schedules.linear_warmup(1.0, start_factor=1.0, end_factor=0.0, total_iters=4)
    np.testing.assert_allclose(values(down, range(6)), [1, 0.75, 0.5, 0.25, 0, 0], atol=1e-15)


def test_linear_warmup_matches_torch_recursive_form():
    # LinearLR's recursion: lr_t = lr_{t-1} (1 + (e - s) / (T s + (t - 1) (e - s))), t <= T
    lr, s0, e, T = 0.2, 0.25, 0.9, 7
    s = schedules.linear_warmup(lr, s0, e, T)
    value = lr * s0
    assert s(0) == pytest.approx(value, rel=1e-15)
    for t in range(1, T + 1):
        value *= 1 + (e - s0) / (T * s0 + (t - 1) * (e - s0))
        assert s(t) == pytest.approx(value, rel=1e-13)


def test_warmup_cosine_by_hand():
    s = schedules.warmup_cosine(1.0, warmup_steps=10, total_steps=110, eta_min=0.1)
    np.testing.assert_allclose(values(s, [0, 5, 10, 60, 110, 500]),
                               [0.0, 0.5, 1.0, 0.55, 0.1, 0.1], rtol=1e-14)
    no_warmup = schedules.warmup_cosine(1.0, warmup_steps=0, total_steps=20)
    np.testing.assert_allclose(values(no_warmup, range(21)),
                               values(schedules.cosine_annealing(1.0, 20), range(21)), atol=1e-15)


def test_one_cycle_cos_by_hand():
    s = schedules.one_cycle(1.0, total_steps=100)  # pct_start .3, div 25, final_div 1e4
    initial, final = 1.0 / 25, 1.0 / 25 / 1e4
    assert s(0) == pytest.approx(initial, rel=1e-15)
    assert s(29) == pytest.approx(1.0, rel=1e-15)  # peak at pct_start * T - 1
    assert s(99) == pytest.approx(final, rel=1e-12)
    assert s(64) == pytest.approx((1.0 + final) / 2, rel=1e-12)  # half-way down: pct = 35 / 70
    pct = 14 / 29
    assert s(14) == pytest.approx(1.0 + (initial - 1.0) / 2 * (math.cos(math.pi * pct) + 1))
    assert s(100) == pytest.approx(final + (1 - final) / 2 * (math.cos(math.pi * 71 / 70) + 1))
    with pytest.raises(ValueError, match="total_steps"):
        s(101)


def test_one_cycle_linear_and_three_phase():
    lin = schedules.one_cycle(2.0, total_steps=50, pct_start=0.2, anneal_strategy="linear",
                              div_factor=10, final_div_factor=100)
    assert lin(0) == pytest.approx(0.2)
    assert lin(4) == pytest.approx(0.2 + (2.0 - 0.2) * 4 / 9)  # phase 1 ends at 0.2*50-1 = 9
    assert lin(9) == pytest.approx(2.0)
    assert lin(49) == pytest.approx(0.002)
    three = schedules.one_cycle(1.0, total_steps=100, three_phase=True)
    # phases end at 29 (up to max), 58 (down to initial), 99 (down to initial / 1e4)
    np.testing.assert_allclose(values(three, [0, 29, 58, 99]), [0.04, 1.0, 0.04, 4e-6],
                               rtol=1e-12)
    assert three(43) == pytest.approx(0.04 + (1 - 0.04) / 2 * (math.cos(math.pi * 14 / 29) + 1))


def test_reduce_on_plateau_by_hand():
    plateau = schedules.ReduceLROnPlateau(1.0, factor=0.5, patience=2, threshold=0.1,
                                          cooldown=1, min_lr=0.2)
    metrics = [10, 9.5, 9.2, 9.1, 9.0, 9.05, 9.02, 9.01, 8.0, 8, 8, 8, 8, 8, 8, 8]
    # 9.0 is not better than 10 (1 - 0.1) = 9 (strict); cooldown swallows one bad epoch;
    # the rate stops at min_lr = 0.2
    expected = [1, 1, 1, .5, .5, .5, .5, .25, .25, .25, .25, .2, .2, .2, .2, .2]
    assert [plateau.step(m) for m in metrics] == pytest.approx(expected)
    assert plateau.best == 8.0
    assert "ReduceLROnPlateau(lr=0.2" in repr(plateau)


def test_reduce_on_plateau_edges():
    strict = schedules.ReduceLROnPlateau(1.0, factor=0.5, patience=0, threshold=0.1)
    assert strict.step(10.0) == 1.0
    assert strict.step(9.0) == 0.5  # 9.0 == 10 (1 - 0.1) is not an improvement
    assert strict.best == 10.0
    tiny = schedules.ReduceLROnPlateau(1e-9, factor=0.5, patience=0)
    tiny.step(1.0)
    assert tiny.step(1.0) == 1e-9  # a reduction smaller than eps = 1e-8 is skipped (torch)


def test_reduce_on_plateau_defaults_and_max_abs():
    plateau = schedules.ReduceLROnPlateau(0.1)  # patience 10, factor 0.1
    lrs = [plateau.step(1.0) for _ in range(13)]
    assert lrs[:11] == [0.1] * 11 and lrs[11] == pytest.approx(0.01)
    up = schedules.ReduceLROnPlateau(1.0, mode="max", threshold_mode="abs", threshold=0.5,
                                     patience=0)
    assert up.step(1.0) == 1.0  # best = 1
    assert up.step(1.4) == pytest.approx(0.1)  # 1.4 <= 1 + 0.5: bad epoch > patience 0
    assert up.step(2.0) == pytest.approx(0.1)  # 2.0 > 1.5: better


def test_reduce_on_plateau_as_optimizer_lr():
    plateau = schedules.ReduceLROnPlateau(1.0, factor=0.5, patience=0)
    opt = optim.sgd(plateau)
    w, state = np.array([1.0]), None
    state = opt.init(w)
    upd, state = opt.update(np.array([1.0]), state, w)
    assert upd == pytest.approx([-1.0])
    plateau.step(1.0)
    plateau.step(1.0)  # no improvement: lr 0.5
    upd, state = opt.update(np.array([1.0]), state, w)
    assert upd == pytest.approx([-0.5])


ALL = {
    "constant": lambda: schedules.constant(0.1),
    "step_lr": lambda: schedules.step_lr(0.1, 5),
    "exponential": lambda: schedules.exponential(0.1, 0.9),
    "exponential_decay": lambda: schedules.exponential_decay(0.1, 0.1),
    "inverse_time": lambda: schedules.inverse_time(0.1, 0.1),
    "cosine_annealing": lambda: schedules.cosine_annealing(0.1, 10),
    "linear_warmup": lambda: schedules.linear_warmup(0.1),
    "warmup_cosine": lambda: schedules.warmup_cosine(0.1, 5, 20),
    "one_cycle": lambda: schedules.one_cycle(0.1, 20),
    "plateau": lambda: schedules.ReduceLROnPlateau(0.1),
}


@pytest.mark.parametrize("name", ALL)
def test_negative_or_non_integer_step_raises(name):
    s = ALL[name]()
    with pytest.raises(ValueError, match=r"Invalid step: -1 \(step must be an integer >= 0\)"):
        s(-1)
    with pytest.raises(TypeError, match="step must be an int"):
        s(1.5)
    assert s(np.int64(3)) >= 0  # numpy integers are fine


@pytest.mark.parametrize("name", [n for n in ALL if n != "plateau"])
def test_schedule_as_lr_is_stepped_by_the_optimizer(name):
    # gd on f = x^2 / 2: x_t = prod_{s < t} (1 - lr_s) x_0
    s = ALL[name]()
    opt = optim.gd(s)
    x, state = np.array(2.0), None
    state = opt.init(x)
    expected = 2.0
    for t in range(15):
        upd, state = opt.update(x, state, x)
        x = optim.apply_updates(x, upd)
        expected *= 1 - s(t)
        assert float(x) == pytest.approx(expected, rel=1e-14)


BAD = [
    (lambda: schedules.constant(-0.1), ValueError, r"Invalid lr: -0\.1 \(lr must be in \[0"),
    (lambda: schedules.step_lr(0.1, 0), ValueError, "step_size must be an integer >= 1"),
    (lambda: schedules.step_lr(0.1, 2.5), ValueError, "step_size"),
    (lambda: schedules.step_lr(0.1, 2, gamma=-1), ValueError, "gamma"),
    (lambda: schedules.exponential(0.1, -0.5), ValueError, "gamma"),
    (lambda: schedules.exponential_decay(0.1, -1), ValueError, "Invalid k"),
    (lambda: schedules.inverse_time(0.1, -1), ValueError, "Invalid k"),
    (lambda: schedules.cosine_annealing(0.1, 0), ValueError, "T_max"),
    (lambda: schedules.cosine_annealing(0.1, 10, eta_min=-1), ValueError, "eta_min"),
    (lambda: schedules.linear_warmup(0.1, start_factor=0), ValueError,
     r"start_factor.*\(0\.0, 1\.0\]"),
    (lambda: schedules.linear_warmup(0.1, end_factor=1.5), ValueError, "end_factor"),
    (lambda: schedules.linear_warmup(0.1, total_iters=0), ValueError, "total_iters"),
    (lambda: schedules.warmup_cosine(0.1, 10, 10), ValueError, "total_steps.*>= 11"),
    (lambda: schedules.one_cycle(0.1, 0), ValueError, "total_steps"),
    (lambda: schedules.one_cycle(0.1, 10, pct_start=1.5), ValueError, "pct_start"),
    (lambda: schedules.one_cycle(0.1, 10, anneal_strategy="cosine"), ValueError,
     "anneal_strategy"),
    (lambda: schedules.one_cycle(0.1, 10, div_factor=0), ValueError, "div_factor"),
    (lambda: schedules.ReduceLROnPlateau(0.1, factor=1.0), ValueError, r"factor.*1\.0\)"),
    (lambda: schedules.ReduceLROnPlateau(0.1, mode="up"), ValueError, "mode"),
    (lambda: schedules.ReduceLROnPlateau(0.1, threshold_mode="x"), ValueError, "threshold_mode"),
    (lambda: schedules.ReduceLROnPlateau(0.1, patience=-1), ValueError, "patience"),
    (lambda: schedules.ReduceLROnPlateau(0.1, min_lr=-1), ValueError, "min_lr"),
    (lambda: schedules.constant("0.1"), TypeError, "lr must be a real number"),
]


@pytest.mark.parametrize("make, exc, match", BAD)
def test_bad_arguments_raise(make, exc, match):
    with pytest.raises(exc, match=match):
        make()
