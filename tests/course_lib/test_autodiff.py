"""Tests for course_lib.autodiff: every gradient against central differences or a hand
computation, accumulation, deep graphs, graph listing and layout, bad input.
(The matplotlib drawing, course_lib.plots.draw_graph, is tested in test_plots.py.)"""

import math
import subprocess
import sys

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from course_lib.autodiff import Value, graph_layout, to_text, topological_order

H = 1e-6


def central_diff(f, args, i, h=H):
    """(f(..., a_i + h, ...) - f(..., a_i - h, ...)) / 2h on plain floats."""
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    return (f(*up) - f(*down)) / (2 * h)


def grads_of(build, args):
    """Build the graph on Values, run backward, return (output data, input grads)."""
    xs = [Value(a) for a in args]
    out = build(*xs)
    out.backward()
    return out.data, [x.grad for x in xs]


# (name, function of Values, the same function of floats, inputs)
UNARY = [
    ("neg", lambda a: -a, lambda a: -a, 1.3),
    ("pow2", lambda a: a**2, lambda a: a**2, -1.7),
    ("pow3", lambda a: a**3, lambda a: a**3, -0.6),
    ("pow-1.5", lambda a: a**-1.5, lambda a: a**-1.5, 0.8),
    ("pow0.5", lambda a: a**0.5, lambda a: a**0.5, 2.5),
    ("exp", lambda a: a.exp(), math.exp, 0.7),
    ("log", lambda a: a.log(), math.log, 0.4),
    ("tanh", lambda a: a.tanh(), math.tanh, -0.9),
    ("sigmoid", lambda a: a.sigmoid(), lambda a: 1 / (1 + math.exp(-a)), 0.3),
    ("sigmoid_neg", lambda a: a.sigmoid(), lambda a: 1 / (1 + math.exp(-a)), -4.0),
    ("relu_pos", lambda a: a.relu(), lambda a: max(a, 0.0), 1.1),
    ("relu_neg", lambda a: a.relu(), lambda a: max(a, 0.0), -1.1),
    ("radd", lambda a: 2 + a, lambda a: 2 + a, 0.5),
    ("rsub", lambda a: 2 - a, lambda a: 2 - a, 0.5),
    ("rmul", lambda a: 3 * a, lambda a: 3 * a, 0.5),
    ("rtruediv", lambda a: 3 / a, lambda a: 3 / a, 0.5),
    ("rpow", lambda a: 2.5**a, lambda a: 2.5**a, 0.7),
]
BINARY = [
    ("add", lambda a, b: a + b, 1.5, -2.0),
    ("sub", lambda a, b: a - b, 1.5, -2.0),
    ("mul", lambda a, b: a * b, 1.5, -2.0),
    ("truediv", lambda a, b: a / b, 1.5, -2.0),
]


@pytest.mark.parametrize("name, build, f, a", UNARY, ids=[u[0] for u in UNARY])
def test_unary_value_and_gradient(name, build, f, a):
    data, (grad,) = grads_of(build, [a])
    assert data == pytest.approx(f(a), rel=1e-12)
    assert grad == pytest.approx(central_diff(f, [a], 0), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("name, f, a, b", BINARY, ids=[u[0] for u in BINARY])
def test_binary_value_and_gradients(name, f, a, b):
    data, grads = grads_of(f, [a, b])
    assert data == pytest.approx(f(a, b), rel=1e-12)
    for i in range(2):
        assert grads[i] == pytest.approx(central_diff(f, [a, b], i), rel=1e-6, abs=1e-9)


def test_binary_ops_with_plain_numbers_on_the_right():
    x = Value(2.0)
    for out, expected_value, expected_grad in [
        (x + 1, 3.0, 1.0), (x - 1, 1.0, 1.0), (x * 4, 8.0, 4.0), (x / 4, 0.5, 0.25),
    ]:
        x.grad = 0.0
        out.backward()
        assert (out.data, x.grad) == (expected_value, expected_grad)


def test_relu_gradient_at_zero_is_zero_like_pytorch():
    _, (grad,) = grads_of(lambda a: a.relu(), [0.0])
    assert grad == 0.0


def test_neuron_against_hand_computation():
    # o = tanh(x1 w1 + x2 w2 + b); do/dn = 1 - o^2, dn/dw1 = x1, dn/dx1 = w1, dn/db = 1
    x1, x2, w1, w2, b = 2.0, 0.0, -3.0, 1.0, 6.8813735870195432
    data, grads = grads_of(lambda x1, x2, w1, w2, b: (x1 * w1 + x2 * w2 + b).tanh(),
                           [x1, x2, w1, w2, b])
    n = x1 * w1 + x2 * w2 + b
    o = math.tanh(n)
    dn = 1 - o**2
    assert data == pytest.approx(o, rel=1e-14)
    assert grads == pytest.approx([w1 * dn, w2 * dn, x1 * dn, x2 * dn, dn], rel=1e-12)
    assert grads[0] == pytest.approx(-1.5, rel=1e-6)  # micrograd's worked example: o = 0.7071


def test_neuron_with_exp_tanh_matches_builtin_tanh():
    # tanh(n) = (e^{2n} - 1) / (e^{2n} + 1): a second graph for the same function
    def by_exp(x, w, b):
        e = (2 * (x * w + b)).exp()
        return (e - 1) / (e + 1)

    args = [0.7, -1.3, 0.2]
    d1, g1 = grads_of(by_exp, args)
    d2, g2 = grads_of(lambda x, w, b: (x * w + b).tanh(), args)
    assert d1 == pytest.approx(d2, rel=1e-12)
    assert g1 == pytest.approx(g2, rel=1e-10)


def _composite(a, b, c):
    """A function using every operator, on Values or floats alike."""
    relu = (lambda t: t.relu()) if isinstance(a, Value) else (lambda t: max(t, 0.0))
    exp = (lambda t: t.exp()) if isinstance(a, Value) else math.exp
    tanh = (lambda t: t.tanh()) if isinstance(a, Value) else math.tanh
    log = (lambda t: t.log()) if isinstance(a, Value) else math.log
    sig = (lambda t: t.sigmoid()) if isinstance(a, Value) else (lambda t: 1 / (1 + math.exp(-t)))
    return (tanh(a * b - c) + sig(c) ** 2 / (1 + b**2) - relu(a - b)
            + log(1 + exp(-c * a)) * 0.5 - (-a) / 3)


@settings(max_examples=50, deadline=None)
@given(st.floats(-2, 2), st.floats(-2, 2), st.floats(-2, 2))
def test_composite_expression_against_central_differences(a, b, c):
    assume(abs(a - b) > 1e-3)  # keep away from the relu kink
    data, grads = grads_of(_composite, [a, b, c])
    assert data == pytest.approx(_composite(a, b, c), rel=1e-12, abs=1e-12)
    for i in range(3):
        assert grads[i] == pytest.approx(central_diff(_composite, [a, b, c], i),
                                         rel=1e-5, abs=1e-7)


@settings(max_examples=30, deadline=None)
@given(st.floats(-3, 3))
def test_node_used_twice_accumulates(a):
    _, (g_sq,) = grads_of(lambda x: x * x, [a])
    _, (g_add,) = grads_of(lambda x: x + x, [a])
    _, (g_poly,) = grads_of(lambda x: x * x * x - x / 2, [a])
    assert g_sq == pytest.approx(2 * a, abs=1e-12)
    assert g_add == 2.0
    assert g_poly == pytest.approx(3 * a**2 - 0.5, rel=1e-12, abs=1e-12)


def test_shared_intermediate_node():
    # z = y * y with y = x + 1 reused: dz/dx = 2 (x + 1)
    x = Value(0.5)
    y = x + 1
    z = y * y + y.exp()
    z.backward()
    assert x.grad == pytest.approx(2 * 1.5 + math.exp(1.5), rel=1e-12)
    order = topological_order(z)
    assert len(order) == 6  # x, 1, y, y*y, exp(y), +: each node once
    position = {id(node): i for i, node in enumerate(order)}
    assert all(position[id(c)] < position[id(n)] for n in order for c in n._prev)


def test_deep_chain_does_not_hit_the_recursion_limit():
    n = 10_000
    x = Value(0.3)
    y = x
    for _ in range(n):
        y = y * 1.0001 + x  # y_n = c y_{n-1} + x  =>  dy_n/dx = c^n + (c^n - 1)/(c - 1)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # far below the 2 n nodes of the graph
    try:
        y.backward()
    finally:
        sys.setrecursionlimit(limit)
    c = 1.0001
    assert x.grad == pytest.approx(c**n + (c**n - 1) / (c - 1), rel=1e-9)
    text = to_text(y, max_depth=3)
    assert text.count("\n") < 20


def test_gradients_accumulate_until_zero_grad():
    x = Value(3.0)
    y = x * x
    y.backward()
    y.backward()
    assert x.grad == 12.0  # 2 * 2x: backward adds, like PyTorch's .backward()
    y.zero_grad()
    assert x.grad == 0.0
    y.backward()
    assert x.grad == 6.0


def test_to_text_lists_op_data_grad_and_shared_nodes_once():
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    e = a * b
    e.label = "e"
    d = e + a
    d.backward()
    text = to_text(d)
    lines = text.splitlines()
    assert lines[0].startswith("[+]") and "data=-4" in lines[0] and "grad=1" in lines[0]
    assert lines[1] == "  [*] e data=-6 grad=1"
    assert "[leaf] a data=2 grad=-2" in text  # dd/da = b + 1
    assert "[leaf] b data=-3 grad=2" in text
    assert sum("(shown above)" in line for line in lines) == 1
    assert len(lines) == 5


def test_graph_layout_puts_inputs_left_of_the_nodes_they_feed():
    x1, w1, b = Value(2.0, label="x1"), Value(-3.0, label="w1"), Value(1.0, label="b")
    out = (x1 * w1 + b).tanh()
    out.backward()
    layout = graph_layout(out)
    assert len(layout.boxes) == 6 and len(layout.edges) == 5
    where = {text.splitlines()[0]: (x, y) for text, x, y in layout.boxes}
    assert where["[tanh]"] == (3.0, 0.0)  # the output is alone in the last column
    assert where["[leaf] x1"][0] == where["[leaf] w1"][0] == 0.0
    assert where["[leaf] b"][0] == 1.0  # next to the + it feeds, not with the other leaves
    assert all(x0 < x1 for (x0, _), (x1, _) in layout.edges)
    assert "data=-3\ngrad=" in next(t for t, _, _ in layout.boxes if "w1" in t)


def test_module_does_not_import_matplotlib():
    code = "import sys, course_lib.autodiff; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("bad", ["1.0", None, [1.0], 1j, True])
def test_bad_data_raises_type_error(bad):
    with pytest.raises(TypeError, match="data must be a real number"):
        Value(bad)


def test_bad_operations_raise_with_clear_messages():
    with pytest.raises(TypeError, match="exponent must be an int or float"):
        Value(2.0) ** Value(2.0)
    with pytest.raises(ValueError, match="log needs a positive input"):
        Value(0.0).log()
    with pytest.raises(ValueError, match="negative base"):
        Value(-1.0) ** 0.5
    with pytest.raises(ValueError, match="positive base"):
        (-2.0) ** Value(1.0)
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / 0
    with pytest.raises(TypeError, match="must be a Value"):
        to_text(1.0)
    with pytest.raises(TypeError):
        Value(1.0) + "a"
