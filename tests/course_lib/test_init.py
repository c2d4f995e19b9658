"""Tests for course_lib.init: sample moments against PyTorch's formulas within sampling error."""

import math

import numpy as np
import pytest

from course_lib import init as I

SHAPE = (400, 500)  # (fan_out, fan_in): 200 000 samples
FAN_IN, FAN_OUT = 500, 400
Z = 5.0  # tolerance in standard errors


def check_moments(w, var, kind):
    """Sample mean and variance of ``w`` within Z standard errors of 0 and ``var``.

    SE(mean) = sigma / sqrt(n); SE(variance) = sqrt((mu4 - sigma^4) / n), with
    mu4 = 3 sigma^4 for a normal and 9/5 sigma^4 for a uniform distribution.
    """
    n = w.size
    mu4 = (3.0 if kind == "normal" else 9.0 / 5) * var**2
    assert abs(w.mean()) < Z * math.sqrt(var / n)
    assert abs(w.var() - var) < Z * math.sqrt((mu4 - var**2) / n)


def rng(seed=0):
    return np.random.default_rng(seed)


def test_zeros_and_constant():
    np.testing.assert_array_equal(I.zeros((2, 3)), np.zeros((2, 3)))
    c = I.constant((4,), 0.1)
    assert c.dtype == np.float64 and np.all(c == 0.1)
    with pytest.raises(ValueError, match="value"):
        I.constant((2,), np.inf)


def test_fans_follow_pytorch():
    assert I.fans((3, 5)) == (5, 3)  # Linear(5 -> 3): weight (3, 5)
    assert I.fans((16, 8, 3, 3)) == (72, 144)  # conv: channels times kernel size
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        I.fans((5,))


def test_uniform_fan_in():
    w = I.uniform_fan_in(rng(), SHAPE)
    bound = 1 / math.sqrt(FAN_IN)
    assert w.shape == SHAPE and w.dtype == np.float64
    assert np.all(np.abs(w) <= bound) and np.abs(w).max() > 0.99 * bound
    check_moments(w, bound**2 / 3, "uniform")
    b = I.uniform_fan_in(rng(), (400,), fan_in=FAN_IN)  # bias of Linear(500 -> 400)
    assert b.shape == (400,) and np.all(np.abs(b) <= bound)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        I.uniform_fan_in(rng(), (400,))


@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier(gain):
    var = gain**2 * 2 / (FAN_IN + FAN_OUT)  # Glorot: 2 / (n_in + n_out)
    wu = I.xavier_uniform(rng(1), SHAPE, gain=gain)
    a = gain * math.sqrt(6 / (FAN_IN + FAN_OUT))
    assert np.all(np.abs(wu) <= a) and np.abs(wu).max() > 0.99 * a
    check_moments(wu, var, "uniform")
    check_moments(I.xavier_normal(rng(2), SHAPE, gain=gain), var, "normal")


@pytest.mark.parametrize("mode, fan", [("fan_in", FAN_IN), ("fan_out", FAN_OUT)])
@pytest.mark.parametrize(
    "nonlinearity, a, gain2",
    [("relu", 0.0, 2.0), ("leaky_relu", 0.0, 2.0), ("leaky_relu", 0.2, 2 / 1.04),
     ("tanh", 0.0, 25 / 9), ("linear", 0.0, 1.0)],
)  # fmt: skip
def test_kaiming(mode, fan, nonlinearity, a, gain2):
    var = gain2 / fan  # He: gain^2 / fan
    kw = {"a": a, "mode": mode, "nonlinearity": nonlinearity}
    wu = I.kaiming_uniform(rng(3), SHAPE, **kw)
    bound = math.sqrt(3 * var)
    assert np.all(np.abs(wu) <= bound) and np.abs(wu).max() > 0.99 * bound
    check_moments(wu, var, "uniform")
    check_moments(I.kaiming_normal(rng(4), SHAPE, **kw), var, "normal")


def test_kaiming_defaults_are_pytorch_defaults():
    w = I.kaiming_normal(rng(5), SHAPE)  # a=0, fan_in, leaky_relu: std sqrt(2 / fan_in)
    check_moments(w, 2 / FAN_IN, "normal")


def test_linear_default_init_equals_kaiming_uniform_sqrt5():
    # torch.nn.Linear: kaiming_uniform_(a=sqrt(5)) == U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w1 = I.kaiming_uniform(rng(6), (3, 7), a=math.sqrt(5))
    w2 = I.uniform_fan_in(rng(6), (3, 7))
    np.testing.assert_allclose(w1, w2, rtol=1e-12)


def test_calculate_gain_matches_pytorch_table():
    for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "sigmoid"):
        assert I.calculate_gain(name) == 1.0
    assert I.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert I.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert I.calculate_gain("selu") == 0.75
    assert I.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert I.calculate_gain("leaky_relu", 0.5) == pytest.approx(math.sqrt(2 / 1.25))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        I.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        I.calculate_gain("leaky_relu", "0.1")
    with pytest.raises(ValueError, match="negative_slope"):
        I.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize(
    "fn", [I.uniform_fan_in, I.xavier_uniform, I.xavier_normal, I.kaiming_uniform,
           I.kaiming_normal],
)  # fmt: skip
def test_determinism_and_independence_of_global_rng(fn):
    state = np.random.get_state()  # noqa: NPY002 (the legacy global state must not move)
    a, b, c = fn(rng(7), (5, 4)), fn(rng(7), (5, 4)), fn(rng(8), (5, 4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (5, 4) and a.dtype == np.float64
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == state[0] and np.array_equal(after[1], state[1]) and after[2] == state[2]


@pytest.mark.parametrize(
    "fn",
    [I.xavier_uniform, I.xavier_normal, I.kaiming_uniform, I.kaiming_normal],
)
def test_validation(fn):
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        fn(rng(), (10,))
    with pytest.raises(TypeError, match="rng"):
        fn(0, (3, 2))
    with pytest.raises(TypeError, match="rng"):
        fn(np.random.RandomState(0), (3, 2))
    with pytest.raises(ValueError, match="shape"):
        fn(rng(), (3, -2))
    with pytest.raises(ValueError, match="fan"):
        fn(rng(), (0, 0))


def test_kaiming_mode_and_gain_validation():
    with pytest.raises(ValueError, match="Mode"):
        I.kaiming_uniform(rng(), (3, 2), mode="fan_avg")
    with pytest.raises(ValueError, match="gain"):
        I.xavier_normal(rng(), (3, 2), gain=-1.0)
    with pytest.raises(TypeError, match="fan_in"):
        I.uniform_fan_in(rng(), (3,), fan_in=2.5)
