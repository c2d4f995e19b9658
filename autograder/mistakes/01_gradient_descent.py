"""Known mistakes for assignment 01 (gradient descent, stationary points, Newton).

Each entry rewrites one line (or block) of a solution cell the way students get it wrong;
`named` is the phrase the hidden tests' message contains when they recognise it.
"""

from autograder.mistakes import Mistake

MISTAKES = [
    # Exercise 1: gradient_descent_1d
    Mistake(
        name="gd1d-sign-error",
        cell="gradient_descent_1d",
        find="x = x - lr * g",
        replace="x = x + lr * g",
        named="adds the gradient",
    ),
    Mistake(
        name="gd1d-missing-x0",
        cell="gradient_descent_1d",
        find="path = [x]",
        replace="path = []",
        named="must start with x0",
    ),
    Mistake(
        name="gd1d-extra-step",
        cell="gradient_descent_1d",
        find="for _ in range(max_steps):",
        replace="for _ in range(max_steps + 1):",
        named="off by one",
    ),
    Mistake(
        name="gd1d-no-stopping-rule",
        cell="gradient_descent_1d",
        find="if abs(g) < tol:",
        replace="if False:",
        named="ignores the stopping rule",
    ),
    # Exercise 2: numerical_gradient
    Mistake(
        name="numgrad-forward-difference",
        cell="numerical_gradient",
        find="grad[i] = (f_plus - f_minus) / (2 * h)",
        replace="grad[i] = (f_plus - f(x)) / h",
        named="forward difference",
    ),
    Mistake(
        name="numgrad-divides-by-h",
        cell="numerical_gradient",
        find="grad[i] = (f_plus - f_minus) / (2 * h)",
        replace="grad[i] = (f_plus - f_minus) / h",
        named="instead of 2h",
    ),
    Mistake(
        name="numgrad-no-restore",
        cell="numerical_gradient",
        find="        x[i] = old  # restore coordinate i\n",
        replace="",
        named="does not restore",
    ),
    # Exercise 3: gradient_descent
    Mistake(
        name="gd-mutates-x0",
        cell="gradient_descent",
        find="x = np.array(x0, dtype=float)",
        replace="x = np.asarray(x0, dtype=float)",
        named="changed its input `x0` in place",
    ),
    Mistake(
        name="gd-appends-same-array",
        cell="gradient_descent",
        find="path.append(x.copy())",
        replace="path.append(x)",
        named="same array",
    ),
    # Exercise 4a: max_stable_lr
    Mistake(
        name="stable-lr-lambda-min",
        cell="max_stable_lr",
        find="return float(2.0 / lam[-1])",
        replace="return float(2.0 / lam[0])",
        named="uses lambda_min",
    ),
    Mistake(
        name="stable-lr-one-over-L",
        cell="max_stable_lr",
        find="return float(2.0 / lam[-1])",
        replace="return float(1.0 / lam[-1])",
        named="1 / lambda_max",
    ),
    # Exercise 4b: convergence_rate
    Mistake(
        name="rate-flat-direction-only",
        cell="convergence_rate",
        find="return float(np.max(np.abs(1.0 - lr * lam)))",
        replace="return float(np.max(1.0 - lr * lam))",
        named="steep direction overshoots",
    ),
    Mistake(
        name="rate-kappa-formula",
        cell="convergence_rate",
        find="return float(np.max(np.abs(1.0 - lr * lam)))",
        replace="return float((lam[-1] / lam[0] - 1) / (lam[-1] / lam[0] + 1))",
        named="(kappa - 1) / (kappa + 1) whatever the step",
    ),
    # Exercise 5: classify_stationary_point
    Mistake(
        name="classify-by-determinant",
        cell="classify_stationary_point",
        find="    lam = np.linalg.eigvalsh(H)",
        replace=(
            "    det = np.linalg.det(H)\n"
            "    if abs(det) <= tol:\n"
            '        return "degenerate"\n'
            '    return "minimum" if det > 0 else "saddle"\n'
            "    lam = np.linalg.eigvalsh(H)"
        ),
        named="determinant alone",
    ),
    Mistake(
        name="classify-zero-as-positive",
        cell="classify_stationary_point",
        find="up, down = lam > tol, lam < -tol",
        replace="up, down = lam >= 0, lam < 0",
        named="treats a zero eigenvalue",
    ),
    Mistake(
        name="classify-degenerate-before-saddle",
        cell="classify_stationary_point",
        find="    if up.any() and down.any():",
        replace=(
            "    if (np.abs(lam) <= tol).any():\n"
            '        return "degenerate"\n'
            "    if up.any() and down.any():"
        ),
        named="before checking for a saddle",
    ),
    # Exercise 6: newton_step
    Mistake(
        name="newton-inverts-hessian",
        cell="newton_step",
        find="d = np.linalg.solve(H, g)",
        replace="d = np.linalg.inv(H) @ g",
        named="np.linalg.inv",
    ),
    Mistake(
        name="newton-sign-error",
        cell="newton_step",
        find="return x - lr * d",
        replace="return x + lr * d",
        named="adds the Newton direction",
    ),
    Mistake(
        name="newton-multiplies-by-hessian",
        cell="newton_step",
        find="d = np.linalg.solve(H, g)",
        replace="d = H @ g",
        named="multiplies the gradient by H",
    ),
    # Exercise 7a: predict_endpoints
    Mistake(
        name="predict-newton-finds-minima",
        cell="predict_endpoints",
        find='return "minimum", "saddle"',
        replace='return "minimum", "minimum"',
        named="of any kind, not only to minima",
    ),
    Mistake(
        name="predict-gd-stalls-at-saddle",
        cell="predict_endpoints",
        find='return "minimum", "saddle"',
        replace='return "saddle", "saddle"',
        named="stable manifold",
    ),
]
