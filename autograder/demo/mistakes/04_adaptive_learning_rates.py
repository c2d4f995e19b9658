"""Known mistakes for assignment 04_adaptive_learning_rates (AdaGrad, RMSProp, AdaDelta).

Each one is applied to the solution region of its cell; the tests of that exercise must
then fail with a message containing ``named``. The ``find`` texts of one cell do not overlap
and no replacement destroys another's ``find``, so any two mistakes of a cell combine, and
the hidden tests (which recognise single mistakes and pairs) name both.
"""

from autograder.demo.mistakes import Mistake

MISTAKES = [
    # Exercise 1: AdaGrad
    Mistake(
        name="adagrad-eps-inside-root",
        cell="adagrad_step",
        find=") + eps",
        replace=" + eps)",
        named="inside the square root",
    ),
    Mistake(
        name="adagrad-accumulates-g",
        cell="adagrad_step",
        find="g * g",
        replace="g",
        named="accumulates g instead of g * g",
    ),
    Mistake(
        name="adagrad-no-square-root",
        cell="adagrad_step",
        find="np.sqrt(",
        replace="(",
        named="without the square root",
    ),
    Mistake(
        name="adagrad-r-updated-after-step",
        cell="adagrad_step",
        find="(r_new",
        replace="(r",
        named="current gradient is excluded",
    ),
    Mistake(
        name="adagrad-w-in-place",
        cell="adagrad_step",
        find="w_new = w - ",
        replace="w_new = w\n    w_new -= ",
        named="changed its input `w` in place",
    ),
    # Exercise 2: RMSProp
    Mistake(
        name="rmsprop-alpha-swapped",
        cell="rmsprop_step",
        find="alpha * s + (1 - alpha) * g",
        replace="(1 - alpha) * s + alpha * g",
        named="alpha and 1 - alpha swapped",
    ),
    Mistake(
        name="rmsprop-eps-inside-root",
        cell="rmsprop_step",
        find=") + eps)",
        replace=" + eps))",
        named="inside the square root",
    ),
    Mistake(
        name="rmsprop-old-average",
        cell="rmsprop_step",
        find="(s_new",
        replace="(s",
        named="divides by the old average",
    ),
    Mistake(
        name="rmsprop-w-in-place",
        cell="rmsprop_step",
        find="w_new = w - ",
        replace="w_new = w\n    w_new -= ",
        named="changed its input `w` in place",
    ),
    # Exercise 3: AdaDelta
    Mistake(
        name="adadelta-wrong-order",
        cell="adadelta_step",
        find="(v_new + eps)",
        replace="(v + eps)",
        named="updated in the wrong order",
    ),
    Mistake(
        name="adadelta-eps-outside-root",
        cell="adadelta_step",
        find="np.sqrt(u + eps)",
        replace="(np.sqrt(u) + eps)",
        named="eps outside the square root",
    ),
    Mistake(
        name="adadelta-lr-in-average",
        cell="adadelta_step",
        find="dx * dx",
        replace="(lr * dx) ** 2",
        named="multiplied by lr",
    ),
    Mistake(
        name="adadelta-u-in-place",
        cell="adadelta_step",
        find="u_new = rho * u + ",
        replace="u_new = u\n    u_new *= rho\n    u_new += ",
        named="changed its input `u` in place",
    ),
    # Exercise 4: effective learning rates
    Mistake(
        name="rates-rmsprop-alpha-0999",
        cell="effective_learning_rates",
        find='"rmsprop": (0.01, 1e-8, 0.99)',
        replace='"rmsprop": (0.01, 1e-8, 0.999)',
        named="0.999 is Adam",
    ),
    Mistake(
        name="rates-adadelta-new-u",
        cell="effective_learning_rates",
        find="rates[t] = lr * np.sqrt(delta + eps)",
        replace="rates[t] = lr * np.sqrt(new_delta + eps)",
        named="not the u_t",
    ),
    Mistake(
        name="rates-returns-steps",
        cell="effective_learning_rates",
        find="rates[t] = lr / (np.sqrt(acc) + eps)",
        replace="rates[t] = lr * g / (np.sqrt(acc) + eps)",
        named="not the rate",
    ),
    # Exercise 5: predictions
    Mistake(
        name="predict-gd-ignores-size",
        cell="predict_ratios",
        find="3 / 16",
        replace="1 / 16",
        named="GD moves in proportion to the gradient",
    ),
    Mistake(
        name="predict-rate-ignores-size",
        cell="predict_ratios",
        find="4 / 3",
        replace="4.0",
        named="ignores the size of the sparse gradient",
    ),
    Mistake(
        name="predict-distance-is-p",
        cell="predict_ratios",
        find="1 / 4",
        replace="1 / 16",
        named="is the frequency p itself",
    ),
    # Exercise 6a: the rotated quadratic
    Mistake(
        name="rotation-hessian-wrong-way",
        cell="rotated_quadratic",
        find="B = R @ A @ R.T",
        replace="B = R.T @ A @ R",
        named="turned the wrong way",
    ),
    Mistake(
        name="rotation-start-not-turned",
        cell="rotated_quadratic",
        find="start = R @ w0",
        replace="start = w0",
        named="start point was not turned",
    ),
]

MIN_MISTAKES = 21

# Cells that carry nbgrader metadata are all locked or graded; none is a free scratch cell.
SCRATCH_CELLS = ()

RELEASE_SECRETS = ("Model answer", "return 3 / 16, 4 / 3, 1 / 4")
