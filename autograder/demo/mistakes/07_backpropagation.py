"""Known mistakes for assignment 07_backpropagation (the chain rule, backpropagation).

Each one is applied to the solution region of its cell; the tests of that exercise must
then fail with a message containing ``named``. The ``find`` texts of one cell do not overlap
and no replacement destroys another's ``find``, so any two mistakes of a cell combine, and
the hidden tests (which recognise single mistakes and pairs) name both.
"""

from autograder.demo.mistakes import Mistake

MISTAKES = [
    # Exercise 1: the Value class
    Mistake(
        name="value-add-assigns-grad",
        cell="evaluate",
        find="self.grad += out.grad\n            other.grad += out.grad",
        replace="self.grad = out.grad\n            other.grad = out.grad",
        named="instead of += in __add__",
    ),
    Mistake(
        name="value-mul-assigns-grad",
        cell="evaluate",
        find="self.grad += other.data * out.grad\n            other.grad += self.data * out.grad",
        replace="self.grad = other.data * out.grad\n            other.grad = self.data * out.grad",
        named="instead of += in __mul__",
    ),
    Mistake(
        name="value-order-not-reversed",
        cell="evaluate",
        find="in reversed(order)",
        replace="in order",
        named="(not reversed)",
    ),
    Mistake(
        name="value-tanh-derivative-of-input",
        cell="evaluate",
        find="(1 - out.data**2)",
        replace="(1 - self.data**2)",
        named="derivative of tanh is written with the input a",
    ),
    # Exercise 2: linear layer
    Mistake(
        name="linear-missing-transpose",
        cell="linear_backward",
        find="dW = dout.T @ x",
        replace="dW = x.T @ dout",
        named="a missing transpose",
    ),
    Mistake(
        name="linear-db-not-summed",
        cell="linear_backward",
        find="db = dout.sum(axis=0)",
        replace="db = dout",
        named="db was not summed over the batch",
    ),
    # Exercise 3: softmax cross-entropy
    Mistake(
        name="softmax-gradient-without-1-over-n",
        cell="softmax_cross_entropy_backward",
        find=") / n  #",
        replace=")  #",
        named="not divided by the batch size n",
    ),
    Mistake(
        name="softmax-no-max-shift",
        cell="softmax_cross_entropy_backward",
        find="shifted = z - z.max(axis=1, keepdims=True)",
        replace="shifted = z",
        named="not shifted by their maximum",
    ),
    Mistake(
        name="softmax-gradient-ignores-smoothing",
        cell="softmax_cross_entropy_backward",
        find="np.exp(log_p) - q)",
        replace="np.exp(log_p) - onehot)",
        named="uses the one-hot target",
    ),
    # Exercise 4: the two-layer network
    Mistake(
        name="mlp-tanh-derivative-of-input",
        cell="mlp_gradients",
        find="(1 - h**2)",
        replace="(1 - z1**2)",
        named="written with the pre-activation z1",
    ),
    Mistake(
        name="mlp-gradient-without-1-over-n",
        cell="mlp_gradients",
        find="dz2 = dz2 / n",
        replace="dz2 = dz2",
        named="not divided by the batch size",
    ),
    # Exercise 5a: gradient checking
    Mistake(
        name="gradcheck-forward-difference",
        cell="numerical_gradient",
        find="grad[i] = (up - down) / (2 * h)",
        replace="grad[i] = (up - mlp_loss(work, X, y)) / h",
        named="a forward difference",
    ),
    Mistake(
        name="gradcheck-no-denominator-guard",
        cell="rel_error",
        find="np.maximum(np.abs(a) + np.abs(b), 1e-8)",
        replace="(np.abs(a) + np.abs(b))",
        named="denominator guard",
    ),
    Mistake(
        name="gradcheck-not-restored",
        cell="numerical_gradient",
        find=(
            "value = np.array(params[name], dtype=float)  # a private copy, perturbed in place\n"
            "    work[name] = value\n"
            "    grad = np.zeros_like(value)\n"
            "    for i in np.ndindex(value.shape):\n"
            "        old = value[i]\n"
            "        value[i] = old + h\n"
            "        up = mlp_loss(work, X, y)\n"
            "        value[i] = old - h\n"
            "        down = mlp_loss(work, X, y)\n"
            "        value[i] = old\n"
        ),
        replace=(
            "value = params[name]  # perturbed in place, restored by arithmetic\n"
            "    work[name] = value\n"
            "    grad = np.zeros_like(value)\n"
            "    for i in np.ndindex(value.shape):\n"
            "        value[i] += h\n"
            "        up = mlp_loss(work, X, y)\n"
            "        value[i] -= 2 * h\n"
            "        down = mlp_loss(work, X, y)\n"
            "        value[i] += h\n"
        ),
        named="changed its input",
    ),
    # Exercise 5b: find the planted bug
    Mistake(
        name="find-bug-smallest-error",
        cell="find_bug",
        find="max(errors, key=errors.get)",
        replace="min(errors, key=errors.get)",
        named="smallest relative error",
    ),
    # Exercise 6a: costs
    Mistake(
        name="costs-forward-difference-count",
        cell="predict_costs",
        find="evaluations = 2 * n",
        replace="evaluations = n + 1",
        named="forward difference, n + 1",
    ),
    Mistake(
        name="costs-no-biases",
        cell="predict_costs",
        find="64 * 20 + 64 + 10 * 64 + 10",
        replace="64 * 20 + 10 * 64",
        named="biases are not counted",
    ),
    Mistake(
        name="costs-backward-per-parameter",
        cell="predict_costs",
        find="backward_passes = 1",
        replace="backward_passes = n",
        named="forward mode",
    ),
]

MIN_MISTAKES = 18

# Cells that carry nbgrader metadata are all locked or graded; none is a free scratch cell.
SCRATCH_CELLS = ()

RELEASE_SECRETS = ("Model answer", "dW2 = dz2.T @ h", "evaluations = 2 * n")
