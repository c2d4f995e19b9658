"""Known mistakes for assignment 09_gradient_clipping (clipping by value, norm, global norm).

Each one is applied to the solution region of its cell; the tests of that exercise must
then fail with a message containing ``named``. The ``find`` texts of one cell do not overlap,
so any combination of a cell's mistakes applies; the hidden tests describe every
combination of a cell's value mistakes (``known_mistakes`` in the setup cell), so each
mistake of a pair is named unless the other one hides it.
"""

from autograder.demo.mistakes import Mistake

MIN_MISTAKES = 17

# Lines that must not reach students beyond solution and hidden-test lines.
RELEASE_SECRETS = ("Model answer", "return np.array([4.0, 1.0]), 1.0")

MISTAKES = [
    # Exercise 1a: clip by value
    Mistake(name="value-one-sided", cell="clip_by_value", find="np.maximum(g, -clip_value)",
            replace="g", named="one-sided clipping"),
    Mistake(name="value-in-place", cell="clip_by_value",
            find="    g = np.asarray(g, dtype=float)\n",
            replace="    g = np.asarray(g, dtype=float)\n    g[g > clip_value] = clip_value\n",
            named="changed its input `g` in place"),
    # Exercise 1b: clip by norm (one tensor)
    Mistake(name="norm-squared", cell="clip_by_norm", find="np.sqrt(np.sum(g * g))",
            replace="np.sum(g * g)", named="the squared norm is used as the norm"),
    Mistake(name="norm-scales-up", cell="clip_by_norm",
            find="min(1.0, max_norm / (norm + 1e-6))", replace="max_norm / (norm + 1e-6)",
            named="scaled up when its norm is below the threshold"),
    Mistake(name="norm-in-place", cell="clip_by_norm", find="    return g * factor",
            replace="    g *= factor\n    return g", named="changed its input `g` in place"),
    # Exercise 1c: clip by global norm
    Mistake(name="global-per-tensor", cell="clip_by_global_norm",
            find="np.asarray(a, dtype=float) * factor for",
            replace="np.asarray(a, dtype=float) * min(1.0, max_norm / (math.sqrt(squares[k]) "
                    "+ 1e-6)) for",
            named="the global norm is computed per tensor"),
    Mistake(name="global-squared", cell="clip_by_global_norm",
            find="total = math.sqrt(sum(squares.values()))",
            replace="total = sum(squares.values())",
            named="the squared norm is used as the norm"),
    Mistake(name="global-scales-up", cell="clip_by_global_norm",
            find="min(1.0, max_norm / (total + 1e-6))", replace="max_norm / (total + 1e-6)",
            named="scaled up when the total norm is below the threshold"),
    Mistake(name="global-no-total", cell="clip_by_global_norm", find="return clipped, total",
            replace="return clipped", named="the total norm was not returned"),
    Mistake(name="global-in-place", cell="clip_by_global_norm",
            find="    if not isinstance(grads, dict):\n        clipped",
            replace="    for a in arrays.values():\n        a *= factor\n"
                    "    if not isinstance(grads, dict):\n        clipped",
            named="changed its input `grads` in place"),
    # Exercise 2: training on the cliff
    Mistake(name="train-clip-after-step", cell="train_clipped",
            find="        if max_norm is not None:  # clip first: momentum only ever sees clipped "
                 "gradients\n            g = g * min(1.0, max_norm / (norm + 1e-6))\n"
                 "        buffer = momentum * buffer + g\n        p -= lr * buffer\n",
            replace="        buffer = momentum * buffer + g\n        step = lr * buffer\n"
                    "        if max_norm is not None:\n"
                    "            step = step * min(1.0, max_norm / (np.linalg.norm(step) + 1e-6))\n"
                    "        p -= step\n",
            named="the clipping is applied after the optimizer step"),
    Mistake(name="train-params-in-place", cell="train_clipped",
            find="p = np.array(params0, dtype=float)",
            replace="p = np.asarray(params0, dtype=float)",
            named="changed its input `params0` in place"),
    Mistake(name="train-norm-logged-after", cell="train_clipped",
            find="        norms.append(norm)  # logged before clipping\n",
            replace="        norms.append(norm * min(1.0, max_norm / (norm + 1e-6)) if max_norm "
                    "is not None else norm)\n",
            named="the norm is logged after clipping"),
    # Exercise 3: the threshold
    Mistake(name="threshold-keeps-nonfinite", cell="pick_threshold",
            find="finite = norms[np.isfinite(norms)]", replace="finite = norms",
            named="non-finite norms (inf, nan) were not ignored"),
    Mistake(name="threshold-no-interpolation", cell="pick_threshold",
            find="float(np.percentile(finite, q))",
            replace="float(np.sort(finite)[int(q / 100 * (finite.size - 1))])",
            named="without interpolation"),
    # Exercise 4: the prediction
    Mistake(name="distance-limit-buffer", cell="max_distance",
            find="speed = momentum * speed + max_norm", replace="speed = max_norm / (1 - momentum)",
            named="given its limit c / (1 - momentum) from the first update"),
    Mistake(name="distance-no-momentum", cell="max_distance", find="total += lr * speed",
            replace="total += lr * max_norm", named="the bound ignores momentum"),
    # Exercise 5a: the example vector
    Mistake(name="direction-equal-entries", cell="direction_example",
            find="return np.array([4.0, 1.0]), 1.0", replace="return np.array([3.0, 3.0]), 1.0",
            named="the entries of g are equal in size"),
]
