"""Tests for course_lib.nn: layer backward passes and MLP gradients against central
differences, hand-computed forward values, PyTorch's default initialisation, bad input."""

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.gradcheck import check_grad
from course_lib.nn import (
    ACTIVATIONS,
    MLP,
    Linear,
    ReLU,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    activation_backward,
    activation_forward,
    init_linear,
)


def away_from_zero(rng, shape, margin=0.1):
    """Normal samples pushed at least ``margin`` away from 0 (the ReLU kink)."""
    z = rng.normal(size=shape)
    return z + margin * np.sign(z)


# ---- Linear ---------------------------------------------------------------------------------
def test_linear_forward_hand_computed():
    layer = Linear(2, 3, np.random.default_rng(0))
    layer.W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    layer.b = np.array([1.0, 0.0, -1.0])
    x = np.array([[1.0, -1.0], [0.5, 0.0]])
    expected = np.array([[1 - 2 + 1, 3 - 4 + 0, 5 - 6 - 1], [0.5 + 1, 1.5, 2.5 - 1]])
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-15)


def test_linear_backward_against_central_differences():
    rng = np.random.default_rng(1)
    layer = Linear(4, 3, rng)
    x = rng.normal(size=(5, 4))
    R = rng.normal(size=(5, 3))  # L = sum(R * y): dL/dy = R
    W0, b0 = layer.W.copy(), layer.b.copy()

    def loss(x=x, W=W0, b=b0):
        layer.W, layer.b = W, b
        return float(np.sum(R * layer.forward(x)))

    def grads(x=x, W=W0, b=b0):
        loss(x, W, b)
        dx = layer.backward(R)
        return dx, layer.dW, layer.db

    check_grad(lambda v: loss(x=v), lambda v: grads(x=v)[0], x)
    check_grad(lambda v: loss(W=v), lambda v: grads(W=v)[1], W0)
    check_grad(lambda v: loss(b=v), lambda v: grads(b=v)[2], b0)
    assert layer.grads["W"].shape == (3, 4) and layer.params["b"].shape == (3,)


def test_linear_does_not_mutate_its_input():
    rng = np.random.default_rng(2)
    layer = Linear(3, 2, rng)
    x = rng.normal(size=(4, 3))
    x_copy = x.copy()
    layer.forward(x)
    dout = np.ones((4, 2))
    layer.backward(dout)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(dout, np.ones((4, 2)))


def test_linear_default_init_is_pytorchs_uniform_fan_in():
    fan_in, fan_out = 50, 400
    W, b = init_linear(np.random.default_rng(3), fan_in, fan_out)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt 5): gain sqrt(1/3) * sqrt(3/fan_in)
    assert W.shape == (fan_out, fan_in) and b.shape == (fan_out,)
    assert np.all(np.abs(W) <= bound) and np.all(np.abs(b) <= bound)
    assert W.var() == pytest.approx(bound**2 / 3, rel=0.05)  # Var U(-a, a) = a^2 / 3
    assert abs(W.mean()) < 4 * bound / math.sqrt(3 * W.size)
    assert b.var() == pytest.approx(bound**2 / 3, rel=0.25)
    W2, b2 = init_linear(np.random.default_rng(3), fan_in, fan_out)
    np.testing.assert_array_equal(W, W2)
    np.testing.assert_array_equal(b, b2)


def test_linear_named_and_callable_inits():
    fan_in, fan_out = 100, 300
    W, b = init_linear(np.random.default_rng(4), fan_in, fan_out, init="kaiming_normal")
    assert W.std() == pytest.approx(math.sqrt(2 / fan_in), rel=0.05)  # He: gain sqrt 2
    np.testing.assert_array_equal(b, 0.0)
    W, _ = init_linear(np.random.default_rng(4), fan_in, fan_out, init="xavier_uniform")
    assert np.abs(W).max() <= math.sqrt(6 / (fan_in + fan_out))
    W, b = init_linear(np.random.default_rng(4), 2, 3, init="zeros")
    assert not W.any() and not b.any()
    layer = Linear(2, 3, np.random.default_rng(4), init=lambda rng, shape: np.full(shape, 0.5))
    np.testing.assert_array_equal(layer.W, np.full((3, 2), 0.5))


# ---- activations and the loss ---------------------------------------------------------------
@pytest.mark.parametrize("layer_cls, phi", [
    (ReLU, lambda z: np.maximum(z, 0)),
    (Sigmoid, lambda z: 1 / (1 + np.exp(-z))),
    (Tanh, np.tanh),
])
def test_activation_forward_and_backward(layer_cls, phi):
    rng = np.random.default_rng(5)
    z = away_from_zero(rng, (4, 3))
    R = rng.normal(size=(4, 3))
    layer = layer_cls()
    np.testing.assert_allclose(layer.forward(z), phi(z), rtol=1e-14)

    def grad(v):
        layer.forward(v)
        return layer.backward(R)

    check_grad(lambda v: float(np.sum(R * layer.forward(v))), grad, z)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_functions_against_central_differences(name):
    rng = np.random.default_rng(6)
    z, dout = away_from_zero(rng, (3, 4)), rng.normal(size=(3, 4))
    h = activation_forward(name, z)
    assert h is not z and h.shape == z.shape
    dz = activation_backward(name, dout, z, h)
    check_grad(lambda v: float(np.sum(dout * activation_forward(name, v))), lambda v: dz, z)


def test_unknown_activation_names_raise_the_same_error_everywhere():
    assert ACTIVATIONS == ("relu", "tanh", "sigmoid", "identity")
    message = r"Invalid activation: 'gelu' \(must be one of \('relu', 'tanh', 'sigmoid', "
    for make in (lambda: activation_forward("gelu", np.zeros(2)),
                 lambda: activation_backward("gelu", np.ones(2), np.zeros(2), np.zeros(2)),
                 lambda: MLP([2, 2], activation="gelu")):
        with pytest.raises(ValueError, match=message):
            make()
    with pytest.raises(ValueError, match=r"Invalid activation: \['relu'\]"):
        MLP([2, 2], activation=["relu"])  # unhashable: the same message


def test_relu_gradient_is_zero_at_zero():
    layer = ReLU()
    layer.forward(np.array([[0.0, 1.0, -1.0]]))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 3))), [[0.0, 1.0, 0.0]])


def test_softmax_cross_entropy_value_and_gradient():
    loss_layer = SoftmaxCrossEntropy()
    # two equal logits: -log(1/2); logits (log 1, log 3) label 1: -log(3/4)
    logits = np.array([[0.0, 0.0], [0.0, math.log(3)]])
    labels = np.array([0, 1])
    assert loss_layer.forward(logits, labels) == pytest.approx((math.log(2) - math.log(0.75)) / 2)
    # dL/dz = (softmax - onehot) / n
    expected = np.array([[0.5 - 1, 0.5], [0.25, 0.75 - 1]]) / 2
    np.testing.assert_allclose(loss_layer.backward(), expected, rtol=1e-14)
    np.testing.assert_allclose(loss_layer.backward(3.0), 3 * expected, rtol=1e-14)

    z = np.random.default_rng(6).normal(size=(5, 4))
    y = np.array([0, 3, 1, 1, 2])

    def grad(v):
        loss_layer.forward(v, y)
        return loss_layer.backward()

    check_grad(lambda v: loss_layer.forward(v, y), grad, z)


def test_layers_chain_like_the_mlp():
    rng = np.random.default_rng(7)
    lin1, act, lin2, ce = Linear(3, 5, rng), Tanh(), Linear(5, 4, rng), SoftmaxCrossEntropy()
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 4, size=6)
    loss = ce.forward(lin2.forward(act.forward(lin1.forward(X))), y)
    lin1.backward(act.backward(lin2.backward(ce.backward())))
    model = MLP([3, 5, 4], activation="tanh")
    params = {"W1": lin1.W, "b1": lin1.b, "W2": lin2.W, "b2": lin2.b}
    loss2, grads = model.loss_and_grad(params, X, y)
    assert loss2 == pytest.approx(loss, rel=1e-14)
    np.testing.assert_allclose(grads["W1"], lin1.dW, rtol=1e-12)
    np.testing.assert_allclose(grads["b2"], lin2.db, rtol=1e-12)


# ---- MLP ------------------------------------------------------------------------------------
def small_problem(loss="cross_entropy", d_out=3, seed=8):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(7, 4))
    y = rng.integers(0, d_out, size=7) if loss == "cross_entropy" else rng.normal(size=(7, d_out))
    return rng, X, y


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "identity"])
@pytest.mark.parametrize("loss, d_out", [("cross_entropy", 3), ("mse", 2), ("mse", 1)])
def test_mlp_gradients_against_central_differences(activation, loss, d_out):
    rng, X, y = small_problem(loss, d_out)
    if d_out == 1:
        y = y[:, 0]  # (n,) targets for a single output
    model = MLP([4, 6, 5, d_out], activation=activation, loss=loss)
    params = model.init(rng)
    _, grads = model.loss_and_grad(params, X, y)
    assert list(grads) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    for key, value in params.items():
        def f(v, key=key):
            return model.loss({**params, key: v}, X, y)

        def g(v, key=key):
            return model.loss_and_grad({**params, key: v}, X, y)[1][key]

        check_grad(f, g, value)
        assert grads[key].shape == value.shape


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), width=st.integers(1, 5),
       activation=st.sampled_from(["tanh", "sigmoid"]), scale=st.floats(0.1, 3.0))
def test_mlp_gradients_hypothesis(seed, n, width, activation, scale):
    rng = np.random.default_rng(seed)
    X = scale * rng.normal(size=(n, 3))
    y = rng.integers(0, 2, size=n)
    model = MLP([3, width, 2], activation=activation)
    params = model.init(rng)
    for key, value in params.items():
        check_grad(lambda v, key=key: model.loss({**params, key: v}, X, y),
                   lambda v, key=key: model.loss_and_grad({**params, key: v}, X, y)[1][key],
                   value)


def test_mlp_loss_with_zero_weights_is_log_classes():
    _, X, y = small_problem()
    model = MLP([4, 8, 3], init="zeros")
    loss, grads = model.loss_and_grad(model.init(np.random.default_rng(0)), X, y)
    assert loss == pytest.approx(math.log(3), rel=1e-15)  # uniform softmax
    # dL/db2 = mean(softmax - onehot) = 1/3 - class frequency
    freq = np.bincount(y, minlength=3) / len(y)
    np.testing.assert_allclose(grads["b2"], 1 / 3 - freq, atol=1e-15)


def test_mlp_shapes_forward_and_activations():
    rng, X, _ = small_problem()
    model = MLP([4, 6, 5, 3], activation="relu")
    params = model.init(rng)
    assert model.shapes == {"W1": (6, 4), "b1": (6,), "W2": (5, 6), "b2": (5,),
                            "W3": (3, 5), "b3": (3,)}
    assert {k: v.shape for k, v in params.items()} == model.shapes
    logits, acts = model.forward(params, X, return_activations=True)
    h1 = np.maximum(X @ params["W1"].T + params["b1"], 0)
    h2 = np.maximum(h1 @ params["W2"].T + params["b2"], 0)
    np.testing.assert_allclose(acts[0], h1, rtol=1e-14)
    np.testing.assert_allclose(acts[1], h2, rtol=1e-14)
    np.testing.assert_allclose(logits, h2 @ params["W3"].T + params["b3"], rtol=1e-14)
    np.testing.assert_array_equal(model.forward(params, X), logits)
    np.testing.assert_array_equal(model.predict(params, X), logits.argmax(axis=1))
    assert len(acts) == 2


def test_mlp_init_is_seeded_and_inputs_are_not_mutated():
    rng, X, y = small_problem()
    model = MLP([4, 6, 3])
    p1, p2 = model.init(np.random.default_rng(11)), model.init(np.random.default_rng(11))
    for k in p1:
        np.testing.assert_array_equal(p1[k], p2[k])
    copies = {k: v.copy() for k, v in p1.items()}
    X_copy, y_copy = X.copy(), y.copy()
    model.loss_and_grad(p1, X, y)
    for k in p1:
        np.testing.assert_array_equal(p1[k], copies[k])
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_mlp_accuracy():
    model = MLP([2, 2], activation="identity")
    params = {"W1": np.eye(2), "b1": np.zeros(2)}
    X = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0]])
    assert model.accuracy(params, X, np.array([0, 1, 1, 1])) == 0.75


# ---- bad input ------------------------------------------------------------------------------
def test_wrong_input_width_raises_clear_message():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"Linear input x must have shape \(n, 3\), got \(5, 4\)"):
        Linear(3, 2, rng).forward(np.zeros((5, 4)))
    model = MLP([3, 4, 2])
    params = model.init(rng)
    with pytest.raises(ValueError, match=r"X must have shape \(n, 3\), got \(5, 2\)"):
        model.forward(params, np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"X must have shape \(n, 3\), got \(3,\)"):
        model.forward(params, np.zeros(3))


def test_bad_params_and_labels_raise():
    rng = np.random.default_rng(0)
    model = MLP([3, 4, 2])
    params = model.init(rng)
    X = np.zeros((5, 3))
    with pytest.raises(ValueError, match="params must have keys"):
        model.loss(dict(list(params.items())[:3]), X, np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match=r"params\['W2'\] must have shape \(2, 4\)"):
        model.loss({**params, "W2": np.zeros((4, 2))}, X, np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match=r"y must lie in \[0, 1\]"):
        model.loss(params, X, np.array([0, 1, 2, 0, 1]))
    with pytest.raises(ValueError, match=r"y must have shape \(5,\)"):
        model.loss(params, X, np.zeros(4, dtype=int))
    with pytest.raises(TypeError, match="integer class indices"):
        model.loss(params, X, np.full(5, 0.5))
    with pytest.raises(ValueError, match=r"y must have shape \(5, 1\)"):
        MLP([3, 1], loss="mse").loss({"W1": np.zeros((1, 3)), "b1": np.zeros(1)}, X,
                                     np.zeros((5, 2)))


@pytest.mark.parametrize("kwargs, err, match", [
    ({"sizes": [3]}, ValueError, "sizes must be a sequence"),
    ({"sizes": [3, 0, 2]}, ValueError, "Invalid layer size: 0"),
    ({"sizes": [3, 2.5]}, TypeError, "layer size must be an int"),
    ({"sizes": [3, 2], "activation": "gelu"}, ValueError, "Invalid activation: 'gelu'"),
    ({"sizes": [3, 2], "loss": "hinge"}, ValueError, "Invalid loss: 'hinge'"),
    ({"sizes": [3, 1]}, ValueError, "cross_entropy needs >= 2 output classes"),
    ({"sizes": [3, 2], "init": "orthogonal"}, ValueError, "Invalid init: 'orthogonal'"),
])
def test_bad_mlp_arguments(kwargs, err, match):
    with pytest.raises(err, match=match):
        MLP(**kwargs)


def test_bad_layer_arguments():
    with pytest.raises(TypeError, match="rng must be a np.random.Generator"):
        Linear(3, 2, rng=0)
    with pytest.raises(ValueError, match="Invalid fan_out: 0"):
        Linear(3, 0, np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="before forward"):
        Linear(3, 2, np.random.default_rng(0)).backward(np.zeros((1, 2)))
    with pytest.raises(RuntimeError, match="before forward"):
        Tanh().backward(np.zeros((1, 2)))
    layer = Linear(3, 2, np.random.default_rng(0))
    layer.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"dout must have shape \(4, 2\)"):
        layer.backward(np.zeros((4, 3)))


def test_module_does_not_import_matplotlib():
    code = "import sys, course_lib.nn; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
