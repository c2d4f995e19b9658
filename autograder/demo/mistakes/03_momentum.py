"""Known mistakes for assignment 03_momentum (momentum and Nesterov).

Each one is applied to the solution region of its cell; the tests of that exercise must
then fail with a message containing ``named``. The ``find`` texts of one cell do not overlap,
so any combination of a cell's mistakes applies; the hidden tests describe every
combination of a cell's value mistakes (``known_mistakes`` in the setup cell), so each
mistake of a pair is named unless the other one hides it.
"""

from autograder.demo.mistakes import Mistake

MISTAKES = [
    # Exercise 1: classical (PyTorch) momentum
    Mistake(
        name="velocity-sign",
        cell="momentum_step",
        find="+ g",
        replace="- g",
        named="subtracts the gradient",
    ),
    Mistake(
        name="old-velocity",
        cell="momentum_step",
        find="lr * v_new",
        replace="lr * v",
        named="old velocity",
    ),
    Mistake(
        name="velocity-in-place",
        cell="momentum_step",
        find="v_new = mu * v",
        replace="v *= mu\n    v_new = v",
        named="changed its input `v` in place",
    ),
    Mistake(
        name="ema-form",
        cell="momentum_step",
        find="# velocity v_{t+1}: the old velocity decayed by mu, plus the new gradient",
        replace="g = (1 - mu) * g  # the new gradient weighted as in a moving average",
        named="EMA form",
    ),
    Mistake(
        name="change-form",
        cell="momentum_step",
        find="# parameters w_{t+1}: a step of lr along the new velocity",
        replace="v_new, lr = v_new + (lr - 1) * g, 1.0  # the velocity holds the whole step",
        named="change form",
    ),
    # Exercise 2a: EMA form
    Mistake(
        name="one-minus-beta-twice",
        cell="ema_momentum_step",
        find="lr * m_new",
        replace="lr * (1 - beta) * m_new",
        named="(1 - beta) applied twice",
    ),
    Mistake(
        name="ema-without-one-minus-beta",
        cell="ema_momentum_step",
        find="+ (1 - beta) * g",
        replace="+ g",
        named="missing its (1 - beta) factor",
    ),
    Mistake(
        name="ema-in-place",
        cell="ema_momentum_step",
        find="m_new = beta * m",
        replace="m *= beta\n    m_new = m",
        named="changed its input `m` in place",
    ),
    # Exercise 2b: classical settings for an EMA run with a schedule on beta
    Mistake(
        name="equivalent-lr-inverted",
        cell="classical_equivalent",
        find="lrs = lrs_ema * (1 - betas)",
        replace="lrs = lrs_ema / (1 - betas)",
        named="effective step",
    ),
    Mistake(
        name="mu-equals-beta",
        cell="classical_equivalent",
        find="mus = betas * (1 - previous) / (1 - betas)",
        replace="mus = betas.copy()",
        named="mu_t = beta_t holds only for a constant beta",
    ),
    # Exercise 3: Nesterov, look-ahead form
    Mistake(
        name="nag-gradient-at-w",
        cell="nag_step",
        find="g = grad_fn(w + mu * v)",
        replace="g = grad_fn(w)",
        named="instead of the look-ahead point",
    ),
    Mistake(
        name="nag-drops-momentum-term",
        cell="nag_step",
        find="w_new = w + v_new",
        replace="w_new = w - lr * g",
        named="drops the momentum term",
    ),
    # Exercise 4: from PyTorch's Nesterov to the look-ahead form
    Mistake(
        name="pytorch-params-are-w",
        cell="pytorch_to_lookahead",
        find="w = p - mu * v",
        replace="w = p",
        named="parameters are the look-ahead points",
    ),
    Mistake(
        name="pytorch-buffer-sign",
        cell="pytorch_to_lookahead",
        find="v = -buf",
        replace="v = buf",
        named="sign of the buffer",
    ),
    Mistake(
        name="pytorch-buffer-divided",
        cell="pytorch_to_lookahead",
        find="* lr",
        replace="/ lr",
        named="divided by lr",
    ),
    # Exercise 5a: optimal heavy ball on a quadratic
    Mistake(
        name="optimum-lr-mu-swapped",
        cell="optimal_momentum",
        find="return float(lr), float(mu), float(rate)",
        replace="return float(mu), float(lr), float(rate)",
        named="lr and mu are swapped",
    ),
    Mistake(
        name="rate-kappa-not-sqrt",
        cell="optimal_momentum",
        find="rate = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)",
        replace="rate = (kappa - 1) / (kappa + 1)",
        named="kappa instead of sqrt(kappa)",
    ),
    Mistake(
        name="optimum-gd-learning-rate",
        cell="optimal_momentum",
        find="lr = 4.0 / (np.sqrt(L) + np.sqrt(m)) ** 2",
        replace="lr = 2.0 / (L + m)",
        named="optimal learning rate of gradient descent",
    ),
    Mistake(
        name="symmetric-exactly",
        cell="optimal_momentum",
        find="not np.allclose(A, A.T)",
        replace="not np.array_equal(A, A.T)",
        named="symmetric within np.allclose",
    ),
    # Exercise 5b: the inverse question
    Mistake(
        name="condition-gd-relation",
        cell="max_condition_number",
        find="return float(root**2)",
        replace="return float(root)",
        named="condition number for which gradient descent has this rate",
    ),
    Mistake(
        name="condition-ratio-inverted",
        cell="max_condition_number",
        find="root = (1 + rate) / (1 - rate)",
        replace="root = (1 - rate) / (1 + rate)",
        named="the ratio is inverted",
    ),
    Mistake(
        name="condition-rate-one-allowed",
        cell="max_condition_number",
        find="rate < 1",
        replace="rate <= 1",
        named="rate = 1",
    ),
    # Exercise 6a: the numeric prediction
    Mistake(
        name="predict-continuous-period",
        cell="predict_spiral",
        find="period = 8.0",
        replace="period = 8.9",
        named="continuous-time oscillator",
    ),
    Mistake(
        name="predict-shrink-mu",
        cell="predict_spiral",
        find="shrink = 0.0625",
        replace="shrink = 0.0039",
        named="modulus is sqrt(mu), not mu",
    ),
    # Exercise 7: the oscillation rule for Nesterov
    Mistake(
        name="nag-oscillation-heavy-ball-rule",
        cell="nag_oscillates",
        find="(1 + mu) ** 2 * (1 - a) ** 2 < 4 * mu * (1 - a)",
        replace="(1 + mu - a) ** 2 < 4 * mu",
        named="that is heavy ball",
    ),
    Mistake(
        name="nag-oscillation-complex-only",
        cell="nag_oscillates",
        find="complex_roots or negative_dominant",
        replace="complex_roots",
        named="only complex roots are counted",
    ),
    Mistake(
        name="nag-oscillation-mu-one-allowed",
        cell="nag_oscillates",
        find="not 0 <= mu < 1",
        replace="not 0 <= mu <= 1",
        named="mu = 1",
    ),
    Mistake(
        name="nag-oscillation-lr-zero-allowed",
        cell="nag_oscillates",
        find="if not lr > 0:",
        replace="if lr < 0:",
        named="lr = 0",
    ),
]

# Test data for tests/notebooks/course_harness.py (see DATA_FIELDS there).
MIN_MISTAKES = 26

# Instructor-only text that must never reach the released notebook.
RELEASE_SECRETS = ("Model answer", "Rubric", "period = 8.0", "shrink = 0.0625")

# Correct solutions written differently from the reference: they must pass the tests too.
ALTERNATIVES = {
    "momentum_step": '''
def momentum_step(w, g, v, lr, mu):
    v_new = np.add(g, np.multiply(mu, v))
    return np.subtract(w, lr * v_new), v_new
''',
    "ema_momentum_step": '''
def ema_momentum_step(w, g, m, lr, beta):
    m_new = m + (1 - beta) * (g - m)  # the same average, written as a move towards g
    return w - lr * m_new, m_new
''',
    "classical_equivalent": '''
def classical_equivalent(lrs_ema, betas):
    lrs_ema, betas = np.array(lrs_ema, dtype=float), np.array(betas, dtype=float)
    if lrs_ema.ndim != 1 or lrs_ema.shape != betas.shape:
        raise ValueError(f"inputs of shape {lrs_ema.shape} and {betas.shape}")
    if ((betas < 0) | (betas >= 1)).any():
        raise ValueError(f"betas out of [0, 1): {betas}")
    c = 1 - betas  # m_{t+1} = c_t v_{t+1}
    c_before = np.r_[c[:1], c[:-1]]
    return lrs_ema * c, betas * c_before / c
''',
    "nag_step": '''
def nag_step(w, v, grad_fn, lr, mu):
    look_ahead = w + mu * v
    v_new = mu * v - lr * grad_fn(look_ahead)
    return w + v_new, v_new
''',
    "pytorch_to_lookahead": '''
def pytorch_to_lookahead(p, buf, lr, mu):
    return p + mu * lr * buf, -lr * buf
''',
    "optimal_momentum": '''
def optimal_momentum(A):
    A = np.array(A, dtype=float)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or not np.allclose(A, A.T):
        raise ValueError("A is not a symmetric matrix")
    lam = np.linalg.eigvalsh(A)
    if lam.min() <= 0:
        raise ValueError("A is not positive definite")
    root_mu = (np.sqrt(lam.max()) - np.sqrt(lam.min())) / (np.sqrt(lam.max()) + np.sqrt(lam.min()))
    return float((1 + root_mu) ** 2 / lam.max()), float(root_mu**2), float(root_mu)
''',
    "max_condition_number": '''
def max_condition_number(rate):
    r = float(np.asarray(rate))
    if not (r >= 0 and r < 1):
        raise ValueError(f"rate = {r} is not in [0, 1)")
    return float(((1 + r) / (1 - r)) ** 2)
''',
    "predict_spiral": '''
def predict_spiral():
    theta, r = np.pi / 4, np.sqrt(0.5)
    return 2 * np.pi / theta, r ** (2 * np.pi / theta)
''',
    "nag_oscillates": '''
def nag_oscillates(lr, mu, lam):
    for name, value, ok in [("lr", lr, lr > 0), ("lam", lam, lam > 0), ("mu", mu, 0 <= mu < 1)]:
        if not ok:
            raise ValueError(f"invalid {name}: {value}")
    return bool(lr * lam > ((1 - mu) / (1 + mu)) ** 2)
''',
}
