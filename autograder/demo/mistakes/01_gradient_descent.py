"""Known mistakes for assignment 01 (gradient descent, stationary points, Newton).

Each entry rewrites one line (or block) of a solution cell the way students get it wrong;
`named` is the phrase the hidden tests' message contains when they recognise it. The `find`
texts of one cell do not overlap, so any two mistakes of a cell apply together (as the
simulated class may make them); the test cells name each pair of value mistakes, or the
one that hides the other.
"""

from autograder.demo.mistakes import Mistake

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
        find=(
            "            if converged:  # stopping rule, checked before each update\n"
            "                break\n"
        ),
        replace="",
        named="ignores the stopping rule",
    ),
    Mistake(
        name="gd1d-stops-after-update",
        cell="gradient_descent_1d",
        # the flag starts False: the rule is first tested at x_1, after an update
        find="converged = abs(g) < tol  # the rule holds at x_0 already: then no update at all",
        replace="converged = False",
        named="checks the stopping rule only after an update",
    ),
    Mistake(
        name="gd1d-keeps-diverged-iterates",
        cell="gradient_descent_1d",
        find=(
            "            if not np.isfinite(x):  # diverged: keep only the finite points\n"
            "                break\n"
        ),
        replace="",
        named="keeps iterating after the run diverged",
    ),
    Mistake(
        name="gd1d-overflow-warning",
        cell="gradient_descent_1d",
        find='with np.errstate(over="ignore", invalid="ignore"):',
        replace="if True:",
        named="np.errstate",
    ),
    # Exercise 2: numerical_gradient
    Mistake(
        name="numgrad-forward-difference",
        cell="numerical_gradient",
        find="grad[i] = (f_plus - f_minus) / spacing",
        replace="grad[i] = (f_plus - f(x)) / h",
        named="forward difference",
    ),
    Mistake(
        name="numgrad-divides-by-h",
        cell="numerical_gradient",
        find="spacing = 2 * h",
        replace="spacing = h",
        named="instead of 2h",
    ),
    Mistake(
        name="numgrad-no-restore",
        cell="numerical_gradient",
        find="        x[i] = old  # restore coordinate i\n",
        replace="",
        named="does not restore",
    ),
    Mistake(
        name="numgrad-integer-copy",
        cell="numerical_gradient",
        find="x = np.array(x, dtype=float)",
        replace="x = np.array(x)",
        named="integer dtype",
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
    Mistake(
        name="gd-overflow-warning",
        cell="gradient_descent",
        find='with np.errstate(over="ignore", invalid="ignore"):',
        replace="if True:",
        named="np.errstate",
    ),
    # Exercise 4a: max_stable_lr
    Mistake(
        name="stable-lr-lambda-min",
        cell="max_stable_lr",
        find="/ lam[-1])",
        replace="/ lam[0])",
        named="uses lambda_min",
    ),
    Mistake(
        name="stable-lr-one-over-L",
        cell="max_stable_lr",
        find="float(2.0",
        replace="float(1.0",
        named="lands in one step",
    ),
    Mistake(
        name="stable-lr-exact-symmetry",
        cell="max_stable_lr",
        find="not np.allclose(A, A.T)",
        replace="not np.array_equal(A, A.T)",
        named="tests symmetry exactly",
    ),
    # Exercise 4b: lr_range_for_rate
    Mistake(
        name="range-swapped-eigenvalues",
        cell="lr_range_for_rate",
        find="lam_min, lam_max = lam[0], lam[-1]",
        replace="lam_min, lam_max = lam[-1], lam[0]",
        named="pairs the eigenvalues the wrong way round",
    ),
    Mistake(
        name="range-stability-bound",
        cell="lr_range_for_rate",
        find="hi = (1 + rate) / lam_max",
        replace="hi = 2 / lam_max",
        named="stability bound",
    ),
    Mistake(
        name="range-no-empty-check",
        cell="lr_range_for_rate",
        find="if lo > hi:",
        replace="if False:",
        named="empty range",
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
    Mistake(
        name="classify-exact-symmetry",
        cell="classify_stationary_point",
        find="not np.allclose(H, H.T)",
        replace="not np.array_equal(H, H.T)",
        named="tests symmetry exactly",
    ),
    # Exercise 6: newton_step
    Mistake(
        name="newton-inverts-hessian",
        cell="newton_step",
        find="d = np.linalg.solve(M, g)",
        replace="d = np.linalg.inv(M) @ g",
        named="np.linalg.inv",
    ),
    Mistake(
        name="newton-sign-error",
        cell="newton_step",
        find="return x -",
        replace="return x +",
        named="adds the Newton direction",
    ),
    Mistake(
        name="newton-multiplies-by-hessian",
        cell="newton_step",
        # the step multiplies by M (its solve is left unused): x - lr * M @ g
        find="lr * d  #",
        replace="lr * M @ g  #",
        named="multiplies the gradient by H",
    ),
    Mistake(
        name="newton-ignores-damping",
        cell="newton_step",
        find="M = H + mu_I",
        replace="M = H",
        named="ignores damping",
    ),
    Mistake(
        name="newton-damping-every-entry",
        cell="newton_step",
        find="mu_I = damping * np.eye(len(x))",
        replace="mu_I = damping",
        named="to every entry",
    ),
    # Exercise 7a: predict_endpoints
    Mistake(
        name="predict-newton-finds-minima",
        cell="predict_endpoints",
        find="x_end_newton = 0.0",
        replace="x_end_newton = 1.0",
        named="of any kind, not only to minima",
    ),
    Mistake(
        name="predict-gd-stalls-at-saddle",
        cell="predict_endpoints",
        find="x_end_gd = 1.0",
        replace="x_end_gd = 0.0",
        named="stable manifold",
    ),
    Mistake(
        name="predict-newton-step-downhill",
        cell="predict_endpoints",
        find="x1_newton = -0.074",
        replace="x1_newton = 0.674",
        named="goes uphill",
    ),
]

# Test data for tests/notebooks/course_harness.py (see DATA_FIELDS there).

# Cells a student may edit freely: no nbgrader metadata, never graded.
SCRATCH_CELLS = ("ex7-try", "ex7-verify")

MIN_MISTAKES = 12

RELEASE_SECRETS = ("Model answer", "-0.074")

# Correct solutions written differently from the reference must pass too (tests not over-strict).
ALTERNATIVES = {
    "gradient_descent_1d": '''
def gradient_descent_1d(df, x0, lr, tol=1e-8, max_steps=1000):
    if lr <= 0 or max_steps < 0:
        what = "learning rate" if lr <= 0 else "max_steps"
        raise ValueError(f"Invalid {what}: {lr}, {max_steps}")
    xs = [float(x0)]
    with np.errstate(all="ignore"):
        while len(xs) <= max_steps and abs(df(xs[-1])) >= tol:
            new = xs[-1] - lr * df(xs[-1])
            if not np.isfinite(new):
                break
            xs.append(new)
    return np.asarray(xs)
''',
    "numerical_gradient": '''
def numerical_gradient(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    grad = np.empty_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad
''',
    "gradient_descent": '''
def gradient_descent(grad, x0, lr, steps):
    if not lr > 0:
        raise ValueError("Invalid learning rate")
    if steps < 0:
        raise ValueError("Invalid steps")
    xs = [np.asarray(x0, dtype=float)]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            xs.append(xs[-1] - lr * grad(xs[-1]))
    return np.stack(xs)
''',
    "max_stable_lr": '''
def max_stable_lr(A):
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or not np.allclose(A, A.T):
        raise ValueError("A must be symmetric")
    try:
        np.linalg.cholesky((A + A.T) / 2)
    except np.linalg.LinAlgError:
        raise ValueError("A must be positive definite") from None
    return 2 / max(np.linalg.eigvalsh(A))
''',
    "lr_range_for_rate": '''
def lr_range_for_rate(A, rate):
    if rate < 0 or rate >= 1:
        raise ValueError("Invalid rate")
    lam = np.linalg.eigvalsh(A)
    lo, hi = (1 - rate) / lam.min(), (1 + rate) / lam.max()
    if hi < lo:
        raise ValueError("no learning rate is that fast")
    return (lo, hi)
''',
    "classify_stationary_point": '''
def classify_stationary_point(hess, tol=1e-8):
    H = np.asarray(hess, dtype=float)
    if H.shape[0] != H.shape[-1] or H.ndim != 2 or not np.allclose(H, H.T):
        raise ValueError("hess must be symmetric")
    lam = np.linalg.eigvalsh(H)
    if lam.min() < -tol and lam.max() > tol:
        return "saddle"
    if np.abs(lam).min() <= tol:
        return "degenerate"
    return "minimum" if lam.min() > 0 else "maximum"
''',
    "newton_step": '''
def newton_step(grad, hess, x, lr=1.0, damping=0.0):
    x = np.array(x, dtype=float)
    H = hess(x) + damping * np.identity(x.size)
    if np.all(np.linalg.eigvalsh(H) > 0):
        c = np.linalg.cholesky(H)
        return x - lr * np.linalg.solve(c.T, np.linalg.solve(c, grad(x)))
    return x - lr * np.linalg.solve(H, grad(x))
''',
    "predict_endpoints": '''
def predict_endpoints():
    return np.float64(-0.0740), 0, 1
''',
}
