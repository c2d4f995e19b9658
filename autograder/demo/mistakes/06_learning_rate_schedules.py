"""Known mistakes for assignment 06_learning_rate_schedules (learning-rate schedules).

Each one is applied to the solution region of its cell; the tests of that exercise must
then fail with a message containing ``named``. The ``find`` texts of one cell do not overlap,
so any combination of a cell's mistakes applies; the hidden tests describe every
combination of a cell's value mistakes (``known_mistakes`` in the setup cell), so each
mistake of a pair is named unless the other one hides it.
"""

from autograder.demo.mistakes import Mistake

MIN_MISTAKES = 26

# Lines that must not reach students beyond solution and hidden-test lines.
RELEASE_SECRETS = ("Model answer", "return 682")

MISTAKES = [
    # Exercise 1a: StepLR
    Mistake(name="step-from-one", cell="step_decay", find="int(t)", replace="int(t + 1)",
            named="counted from 1 instead of 0"),
    Mistake(name="step-no-floor", cell="step_decay", find="// step_size",
            replace="/ step_size", named="is not rounded down"),
    Mistake(name="step-one-minus-gamma", cell="step_decay", find="lr0 * gamma**blocks",
            replace="lr0 * (1 - gamma) ** blocks", named="multiplied by (1 - gamma)"),
    # Exercise 1b: exponential decay
    Mistake(name="exp-power-form", cell="exponential_decay", find="return lr0 * factor",
            replace="return lr0 ** (-k * t)", named="lr0^(-k t) is a misprint"),
    Mistake(name="exp-from-one", cell="exponential_decay", find="math.exp(-k * t)",
            replace="math.exp(-k * (t + 1))", named="counted from 1 instead of 0"),
    # Exercise 1c: 1/t decay
    Mistake(name="inverse-n-form", cell="inverse_time_decay", find="(1.0 + k * t)",
            replace="(k * t)", named="lr0 / (n + k t)"),
    Mistake(name="inverse-from-one", cell="inverse_time_decay", find="return lr0 /",
            replace="t = t + 1\n    return lr0 /", named="counted from 1 instead of 0"),
    # Exercise 1d: cosine annealing
    Mistake(name="cosine-no-min", cell="cosine_annealing",
            find="eta_min + (lr0 - eta_min) * (1", replace="lr0 * (1",
            named="cosine without the minimum rate"),
    Mistake(name="cosine-period", cell="cosine_annealing", find="/ T_max",
            replace="/ (T_max + 1)", named="the period is T_max + 1"),
    Mistake(name="cosine-from-one", cell="cosine_annealing", find="math.pi * t",
            replace="math.pi * (t + 1)", named="counted from 1 instead of 0"),
    # Exercise 1e: warm-up then cosine
    Mistake(name="warmup-from-zero", cell="warmup_cosine",
            find="(start_factor + (1 - start_factor) * fraction)", replace="fraction",
            named="the warm-up starts at zero at step 0"),
    Mistake(name="warmup-cosine-unshifted", cell="warmup_cosine",
            find="min(t - warmup_steps,", replace="min(t,",
            named="counted from t = 0 instead of from the end of the warm-up"),
    Mistake(name="warmup-cosine-whole-period", cell="warmup_cosine",
            find=") / decay_steps", replace=") / total_steps",
            named="the cosine runs over total_steps"),
    # Exercise 2: SGD under a schedule
    Mistake(name="sgd-per-epoch", cell="sgd_with_schedule", find="schedule(t)",
            replace="schedule(epoch)", named="stepped per epoch"),
    Mistake(name="sgd-from-one", cell="sgd_with_schedule", find="    t = 0\n",
            replace="    t = 1\n", named="counted from 1 instead of 0"),
    Mistake(name="sgd-sum-gradient", cell="sgd_with_schedule", find="@ w - yb) / batch_size",
            replace="@ w - yb)", named="the sum over the batch instead of the mean"),
    Mistake(name="sgd-no-copy", cell="sgd_with_schedule", find="np.array(w0, dtype=float)",
            replace="w0", named="changed its input `w0` in place"),
    # Exercise 3: Robbins-Monro
    Mistake(name="rm-step-diverges", cell="robbins_monro", find='"step": (False, True)',
            replace='"step": (True, True)', named="geometric series"),
    Mistake(name="rm-log-looks-finite", cell="robbins_monro", find='"t_log_t": (True, True)',
            replace='"t_log_t": (False, True)', named="grow like ln ln t"),
    # Exercise 4a: range test
    Mistake(name="range-linear-sweep", cell="lr_range_test",
            find="lr_min * (lr_max / lr_min) ** (np.arange(steps) / (steps - 1))",
            replace="np.linspace(lr_min, lr_max, steps)", named="linearly spaced"),
    Mistake(name="range-no-blowup-stop", cell="lr_range_test",
            find=" or loss > blowup * min(losses)", replace="",
            named="the blow-up stop rule is missing"),
    # Exercise 4b: suggestion
    Mistake(name="suggest-linear-axis", cell="suggest_lr", find="np.diff(np.log(lrs))",
            replace="np.diff(lrs)", named="against lr instead of ln(lr)"),
    Mistake(name="suggest-right-end", cell="suggest_lr", find="return float(lrs[i])",
            replace="return float(lrs[i + 1])", named="right-hand end"),
    # Exercise 5a: the recursion for E[w^2]
    Mistake(name="msd-linear-contraction", cell="expected_sq_distance",
            find="(1 - lr * lam) ** 2 * m[-1]", replace="(1 - lr * lam) * m[-1]",
            named="must be squared"),
    Mistake(name="msd-noise-not-squared", cell="expected_sq_distance",
            find="lr**2 * sigma**2)", replace="lr * sigma**2)",
            named="the noise adds lr^2 sigma^2"),
    # Exercise 5b: the prediction
    Mistake(name="crossover-off-by-one", cell="crossover_step", find="return 682",
            replace="return 681", named="off by one"),
]

# Correct solutions written differently from the reference: they must pass their test cells
# quietly (the hidden tests are not over-strict).
ALTERNATIVES = {
    "step_decay": '''
def step_decay(t, lr0, step_size, gamma=0.1):
    if t < 0:
        raise ValueError("negative t")
    return lr0 * gamma ** math.floor(t / step_size)
''',
    "exponential_decay": '''
def exponential_decay(t, lr0, k):
    if t < 0:
        raise ValueError("negative t")
    return np.asarray(lr0 * np.exp(-k) ** t)  # a 0-d array is accepted
''',
    "warmup_cosine": '''
def warmup_cosine(t, lr0, warmup_steps, total_steps, eta_min=0.0, start_factor=0.1):
    if t < 0:
        raise ValueError("negative t")
    if t < warmup_steps:
        return np.interp(t, [0, warmup_steps], [start_factor * lr0, lr0])
    if t >= total_steps:
        return eta_min
    phase = np.pi * (t - warmup_steps) / (total_steps - warmup_steps)
    return eta_min + 0.5 * (lr0 - eta_min) * (1 + np.cos(phase))
''',
    "sgd_with_schedule": '''
def sgd_with_schedule(schedule, X, y, w0, epochs, batch_size):
    n = X.shape[0]
    if n % batch_size:
        raise ValueError("batch_size must divide the number of samples")
    w_star = np.linalg.solve(X.T @ X, X.T @ y)
    batches = [(X[i:i + batch_size], y[i:i + batch_size]) for i in range(0, n, batch_size)]
    w, out = w0, [np.linalg.norm(w0 - w_star)]
    for t in range(epochs * len(batches)):
        Xb, yb = batches[t % len(batches)]
        w = w - schedule(t) * Xb.T @ (Xb @ w - yb) / len(yb)
        out.append(np.linalg.norm(w - w_star))
    return np.array(out)
''',
    "lr_range_test": '''
def lr_range_test(loss_and_grad, w0, lr_min, lr_max, steps, blowup=4.0):
    if lr_min <= 0 or lr_max <= lr_min or steps < 2:
        raise ValueError("bad arguments")
    rates, w, losses, best = np.geomspace(lr_min, lr_max, steps), w0, [], np.inf
    with np.errstate(over="ignore", invalid="ignore"):
        for k, lr in enumerate(rates):
            loss, grad = loss_and_grad(w, k)
            losses.append(loss)
            best = min(best, loss)
            if not np.isfinite(loss) or loss > blowup * best:
                break
            w = w - lr * grad
    return rates[:len(losses)], np.array(losses, dtype=float)
''',
    "suggest_lr": '''
def suggest_lr(lrs, losses):
    if np.ndim(lrs) != 1 or np.ndim(losses) != 1 or len(lrs) != len(losses) or len(lrs) < 2:
        raise ValueError("lrs and losses must have one length >= 2")
    best, best_i = 0.0, None
    for i in range(len(lrs) - 1):
        if np.isfinite(losses[i]) and np.isfinite(losses[i + 1]):
            slope = (losses[i + 1] - losses[i]) / (math.log(lrs[i + 1]) - math.log(lrs[i]))
            if slope < best:
                best, best_i = slope, i
    if best_i is None:
        raise ValueError("the loss does not decrease")
    return lrs[best_i]
''',
    "expected_sq_distance": '''
def expected_sq_distance(lrs, lam, sigma, w0):
    out = np.empty(len(lrs) + 1)
    out[0] = w0 * w0
    for t, lr in enumerate(lrs):
        out[t + 1] = (1 - lr * lam) ** 2 * out[t] + (lr * sigma) ** 2
    return out
''',
}
