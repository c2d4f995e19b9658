"""Known mistakes for assignment 03_momentum (momentum and Nesterov).

Each one is applied to the solution region of its cell; the tests of that exercise must
then fail with a message containing ``named``. The ``find`` texts of one cell do not overlap,
so any combination of a cell's mistakes applies, and the tests name each of them.
"""

from autograder.mistakes import Mistake

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
    # Exercise 2: EMA form and the equivalent learning rate
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
        name="equivalent-lr-inverted",
        cell="equivalent_lr",
        find="return float(lr_ema * (1 - beta))",
        replace="return float(lr_ema / (1 - beta))",
        named="effective step",
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
    # Exercise 4: conversion to PyTorch's Nesterov
    Mistake(
        name="pytorch-params-are-w",
        cell="lookahead_to_pytorch",
        find="p = w + mu * v",
        replace="p = w",
        named="parameters are the look-ahead points",
    ),
    Mistake(
        name="pytorch-buffer-sign",
        cell="lookahead_to_pytorch",
        find="buf = -v / lr",
        replace="buf = v / lr",
        named="sign of the buffer",
    ),
    # Exercise 5: optimal heavy ball on a quadratic
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
    # Exercise 6: prediction and the oscillation rule
    Mistake(
        name="predict-largest-lr",
        cell="predict_oscillating",
        find='return "B"',
        replace='return "C"',
        named="never changes sign",
    ),
    Mistake(
        name="oscillation-gd-criterion",
        cell="oscillates",
        find="lr * lam > edge",
        replace="lr * lam > 1",
        named="criterion of gradient descent",
    ),
]
