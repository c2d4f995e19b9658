"""course_lib.exercise: withholding names in a process, and putting them back."""

import numpy as np
import pytest

from course_lib import autodiff, data, exercise, nn, optim, train


@pytest.fixture(autouse=True)
def student_kernel(monkeypatch):
    """A process without COURSE_LIB_COMPLETE, whose course_lib is whole again afterwards."""
    monkeypatch.delenv(exercise.COMPLETE_ENV, raising=False)
    yield
    exercise._restore()


def raises_not_available(call, name):
    with pytest.raises(exercise.NotAvailable) as info:
        call()
    assert str(info.value) == (f"course_lib.{name} is not available in this exercise: "
                               "write it yourself")
    assert isinstance(info.value, RuntimeError) and info.value.name == name


def test_a_withheld_function_raises_and_says_so():
    exercise.withhold("gradcheck.numerical_gradient")
    from course_lib import gradcheck

    raises_not_available(lambda: gradcheck.numerical_gradient(np.sum, np.ones(2)),
                         "gradcheck.numerical_gradient")
    stub = gradcheck.numerical_gradient
    assert stub.__name__ == "numerical_gradient"
    assert stub.__qualname__ == "numerical_gradient"
    assert stub.__doc__.startswith("course_lib.gradcheck.numerical_gradient is not available")
    assert gradcheck.rel_error(np.ones(2), np.ones(2)) == 0.0  # the rest still works


def test_a_withheld_class_cannot_be_constructed():
    exercise.withhold("autodiff.Value")
    raises_not_available(lambda: autodiff.Value(1.0), "autodiff.Value")
    raises_not_available(lambda: autodiff.as_value(1.0), "autodiff.Value")  # library code too
    assert autodiff.Value.__name__ == "Value" and "not available" in autodiff.Value.__doc__


def test_a_withheld_optimizer_factory_and_what_is_built_from_it():
    exercise.withhold("optim.adam", "optim.scale_by_adam")
    raises_not_available(lambda: optim.adam(1e-3), "optim.adam")
    raises_not_available(lambda: optim.adamw(1e-3), "optim.scale_by_adam")  # adamw uses it
    updates, _ = optim.sgd(0.5).update(np.ones(2), optim.sgd(0.5).init(np.zeros(2)))
    np.testing.assert_array_equal(updates, [-0.5, -0.5])


def test_a_name_imported_elsewhere_in_course_lib_is_withheld_there_too():
    original = data.minibatches
    assert train.minibatches is original  # train.py: from course_lib.data import minibatches
    exercise.withhold("data.minibatches")
    assert train.minibatches is data.minibatches is not original
    model = nn.MLP([2, 3, 2])
    X, y = np.ones((4, 2)), np.array([0, 1, 0, 1])
    raises_not_available(lambda: train.fit(model, X, y, optim.sgd(0.1), 1, 2,
                                           np.random.default_rng(0)), "data.minibatches")


def test_a_withheld_method_leaves_the_rest_of_its_class():
    exercise.withhold("nn.MLP.loss_and_grad")
    model = nn.MLP([2, 3, 2])
    params = model.init(np.random.default_rng(0))
    X, y = np.ones((2, 2)), np.array([0, 1])
    raises_not_available(lambda: model.loss_and_grad(params, X, y), "nn.MLP.loss_and_grad")
    assert np.isfinite(model.loss(params, X, y))


@pytest.mark.parametrize("bad", ["optim.adma", "optimx.adam", "adam", "optim.Transform.x.y",
                                 "nn.MLP.lossandgrad", "optim.math"])
def test_a_typo_is_a_value_error_naming_it_and_nothing_is_withheld(bad):
    with pytest.raises(ValueError, match=bad.replace(".", r"\.")):
        exercise.withhold("optim.adamw", bad)
    assert exercise.withheld() == ()
    optim.adamw(1e-3)  # the good name before the typo was not withheld either


def test_course_lib_complete_makes_it_a_no_op(monkeypatch):
    original = optim.adam
    monkeypatch.setenv(exercise.COMPLETE_ENV, "1")
    exercise.withhold("optim.adam", "autodiff.Value")
    assert optim.adam is original and exercise.withheld() == ()
    autodiff.Value(2.0)
    with pytest.raises(ValueError, match="optim.nope"):  # names are still checked
        exercise.withhold("optim.nope")


def test_withholding_twice_is_harmless_and_restore_puts_everything_back():
    originals = (optim.adam, data.minibatches, train.minibatches, autodiff.Value,
                 nn.MLP.loss_and_grad)
    names = ("optim.adam", "data.minibatches", "autodiff.Value", "nn.MLP.loss_and_grad")
    exercise.withhold(*names)
    first = optim.adam
    exercise.withhold(*names, "optim.adam")
    assert optim.adam is first and exercise.withheld() == names
    exercise._restore()
    assert (optim.adam, data.minibatches, train.minibatches, autodiff.Value,
            nn.MLP.loss_and_grad) == originals
    assert exercise.withheld() == ()
    assert autodiff.Value(3.0).data == 3.0
