"""Tests for course_lib.clip: hand-computed vectors, torch.nn.utils.clip_grad_norm_ semantics,
properties, use inside optim.chain, validation and no mutation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib import clip, optim


def grads_345():
    """Global 2-norm sqrt(3^2 + 4^2) = 5; per-array norms 3 and 4."""
    return {"a": np.array([3.0, 0.0]), "b": np.array([[0.0, -4.0]])}


def test_clip_by_global_norm_hand_computed():
    clipped, total = clip.clip_by_global_norm(grads_345(), 1.0)
    assert total == pytest.approx(5.0, rel=1e-15)
    coef = 1.0 / (5.0 + 1e-6)  # max_norm / (total + 1e-6)
    np.testing.assert_allclose(clipped["a"], [3 * coef, 0.0], rtol=1e-15)
    np.testing.assert_allclose(clipped["b"], [[0.0, -4 * coef]], rtol=1e-15)
    unchanged, total = clip.clip_by_global_norm(grads_345(), 10.0)  # coefficient clamped at 1
    np.testing.assert_array_equal(unchanged["a"], [3.0, 0.0])
    np.testing.assert_array_equal(unchanged["b"], [[0.0, -4.0]])
    assert total == pytest.approx(5.0)


def test_other_norm_types_hand_computed():
    _, total_inf = clip.clip_by_global_norm(grads_345(), 1.0, norm_type=math.inf)
    assert total_inf == 4.0
    clipped, total_1 = clip.clip_by_global_norm(grads_345(), 1.0, norm_type=1)
    assert total_1 == pytest.approx(7.0)
    np.testing.assert_allclose(clipped["a"], [3 / (7 + 1e-6), 0.0], rtol=1e-15)
    cube = clip.global_norm({"x": np.array([1.0, 2.0, 2.0])}, norm_type=3)
    assert cube == pytest.approx((1 + 8 + 8) ** (1 / 3))


def test_clip_by_norm_is_per_array():
    clipped = clip.clip_by_norm(grads_345(), 1.0)
    np.testing.assert_allclose(clipped["a"], [3 / (3 + 1e-6), 0.0], rtol=1e-15)
    np.testing.assert_allclose(clipped["b"], [[0.0, -4 / (4 + 1e-6)]], rtol=1e-15)
    np.testing.assert_allclose(clip.clip_by_norm(np.array([0.3, 0.4]), 1.0), [0.3, 0.4])


def test_clip_by_value_hand_computed():
    np.testing.assert_array_equal(clip.clip_by_value(np.array([-3.0, 0.5, 7.0]), 2.0),
                                  [-2.0, 0.5, 2.0])
    out = clip.clip_by_value({"w": np.array([[1.0, -1.5]]), "b": np.array(0.2)}, 1.0)
    np.testing.assert_array_equal(out["w"], [[1.0, -1.0]])
    assert out["b"] == 0.2


def test_zero_gradient_and_zero_dim():
    clipped, total = clip.clip_by_global_norm({"a": np.zeros(3), "s": np.array(0.0)}, 1.0)
    assert total == 0.0
    np.testing.assert_array_equal(clipped["a"], 0.0)
    clipped, total = clip.clip_by_global_norm(np.array(-6.0), 3.0)
    assert total == 6.0 and float(clipped) == pytest.approx(-3.0 * 6.0 / (6.0 + 1e-6))


@settings(max_examples=40, deadline=None)
@given(a=hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=4),
                    elements=st.floats(-1e3, 1e3)),
       b=hnp.arrays(np.float64, st.integers(1, 5), elements=st.floats(-1e3, 1e3)),
       max_norm=st.floats(0.01, 100.0))
def test_global_norm_clipping_properties(a, b, max_norm):
    grads = {"a": a, "b": b}
    copies = {k: v.copy() for k, v in grads.items()}
    clipped, total = clip.clip_by_global_norm(grads, max_norm)
    assert total == pytest.approx(np.sqrt(np.sum(a**2) + np.sum(b**2)), rel=1e-12, abs=1e-300)
    assert clip.global_norm(clipped) <= max_norm * (1 + 1e-12) or total <= max_norm
    coef = min(1.0, max_norm / (total + 1e-6))
    for k in grads:  # same direction, one common coefficient
        np.testing.assert_allclose(clipped[k], coef * grads[k], rtol=1e-14, atol=1e-300)
        np.testing.assert_array_equal(grads[k], copies[k])  # input not mutated


def test_transforms_in_a_chain():
    grads = grads_345()
    opt = optim.chain(clip.clip_by_global_norm_transform(1.0), optim.scale_by_learning_rate(0.1))
    state = opt.init(grads)
    assert math.isnan(state[0].total_norm)
    upd, state = opt.update(grads, state, grads)
    assert state[0].total_norm == pytest.approx(5.0)
    np.testing.assert_allclose(upd["a"], [-0.1 * 3 / (5 + 1e-6), 0.0], rtol=1e-15)
    by_value = optim.chain(clip.clip_by_value_transform(1.0), optim.sgd(1.0))
    upd, _ = by_value.update(grads, by_value.init(grads), grads)
    np.testing.assert_array_equal(upd["b"], [[0.0, 1.0]])
    by_norm = optim.chain(clip.clip_by_norm_transform(2.0), optim.sgd(1.0))
    upd, _ = by_norm.update(grads, by_norm.init(grads), grads)
    np.testing.assert_allclose(upd["b"], [[0.0, 4 * 2 / (4 + 1e-6)]], rtol=1e-15)


def test_chain_clip_then_adam_matches_manual():
    rng = np.random.default_rng(0)
    w = rng.normal(size=5)
    opt = optim.chain(clip.clip_by_global_norm_transform(0.5),
                      optim.scale_by_adam(), optim.scale_by_learning_rate(0.01))
    ref = optim.adam(0.01)
    s, rs = opt.init(w), ref.init(w)
    for _ in range(10):
        g = 3 * rng.normal(size=5)
        u, s = opt.update(g, s, w)
        ru, rs = ref.update(clip.clip_by_global_norm(g, 0.5)[0], rs, w)
        np.testing.assert_allclose(u, ru, rtol=1e-14)
        w = optim.apply_updates(w, u)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: clip.clip_by_global_norm(np.ones(2), -1.0), ValueError,
     r"Invalid max_norm value: -1\.0 \(max_norm must be >= 0"),
    (lambda: clip.clip_by_norm(np.ones(2), -1.0), ValueError, "max_norm"),
    (lambda: clip.clip_by_value(np.ones(2), -1.0), ValueError, "clip_value must be >= 0"),
    (lambda: clip.clip_by_global_norm(np.ones(2), 1.0, norm_type=0.5), ValueError,
     "norm_type"),
    (lambda: clip.clip_by_global_norm({"a": {"b": np.ones(2)}}, 1.0), TypeError, "flat dict"),
    (lambda: clip.clip_by_global_norm([np.ones(2)], 1.0), TypeError, "use a dict"),
    (lambda: clip.clip_by_global_norm_transform(-1.0), ValueError, "max_norm"),
    (lambda: clip.clip_by_norm_transform(1.0, norm_type=0), ValueError, "norm_type"),
    (lambda: clip.clip_by_value_transform(-2), ValueError, "clip_value"),
])
def test_bad_input_raises(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
