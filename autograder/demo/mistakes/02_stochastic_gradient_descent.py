"""Known mistakes for assignment 02 (losses, mini-batches, SGD, gradient variance).

Each entry rewrites one solution cell of
``source/02_stochastic_gradient_descent/02_stochastic_gradient_descent.ipynb``; ``named`` is
a phrase of the hidden tests' failure message for that mistake.
"""

from autograder.demo.mistakes import Mistake

MISTAKES = [
    # ---- exercise 1: losses
    Mistake(
        name="mse-sum-not-mean",
        cell="mse",
        find="value = np.mean(diff**2)",
        replace="value = np.sum(diff**2)",
        named="sum instead of the mean",
    ),
    Mistake(
        name="mse-gradient-missing-1/n",
        cell="mse",
        find="diff / n_entries",
        replace="diff",
        named="missing the 1/N factor in the gradient",
    ),
    Mistake(
        name="mse-gradient-missing-2",
        cell="mse",
        find="grad = 2.0 * ",
        replace="grad = ",
        named="missing the factor 2",
    ),
    Mistake(
        name="huber-quadratic-without-half",
        cell="huber",
        find="np.where(small, 0.5 * r**2,",
        replace="np.where(small, r**2,",
        named="without the 1/2 in the quadratic part",
    ),
    Mistake(
        name="huber-linear-without-offset",
        cell="huber",
        find="delta * (np.abs(r) - 0.5 * delta))",
        replace="delta * np.abs(r))",
        named="without the -delta/2 offset",
    ),
    Mistake(
        name="huber-gradient-missing-1/n",
        cell="huber",
        find="return np.mean(per_entry), slope / r.size",
        replace="return np.mean(per_entry), slope",
        named="missing the 1/N factor in the gradient",
    ),
    Mistake(
        name="bce-log-of-zero",
        cell="binary_cross_entropy_with_logits",
        find="per_example = np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))",
        replace=(
            "p_naive = 1.0 / (1.0 + np.exp(-z))\n"
            "    per_example = -(y * np.log(p_naive) + (1 - y) * np.log(1 - p_naive))"
        ),
        named="log(0)",
    ),
    Mistake(
        name="bce-gradient-sign",
        cell="binary_cross_entropy_with_logits",
        find="grad = (p - y) / z.size",
        replace="grad = (y - p) / z.size",
        named="wrong sign",
    ),
    Mistake(
        name="softmax-without-max-shift",
        cell="softmax_cross_entropy",
        find="shifted = logits - logits.max(axis=1, keepdims=True)",
        replace="shifted = logits",
        named="softmax without the max shift",
    ),
    Mistake(
        name="softmax-log-of-probabilities",
        cell="softmax_cross_entropy",
        find="log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))",
        replace=(
            "log_probs = np.log(np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True))"
        ),
        named="log(0)",
    ),
    Mistake(
        name="softmax-gradient-without-1/n",
        cell="softmax_cross_entropy",
        find="return value, grad / n",
        replace="return value, grad",
        named="missing the 1/n factor",
    ),
    # ---- exercise 2: minibatches
    Mistake(
        name="drops-last-batch-silently",
        cell="minibatches",
        find="for start in range(0, n, batch_size):",
        replace="for start in range(0, n - batch_size + 1, batch_size):",
        named="drops the last partial batch",
    ),
    Mistake(
        name="global-rng",
        cell="minibatches",
        find="order = rng.permutation(n)",
        replace="order = np.random.permutation(n)",
        named="uses the global RNG",
    ),
    Mistake(
        name="same-permutation-every-epoch",
        cell="minibatches",
        find="# a fresh order at every call: one epoch",
        replace="\n        order = np.random.default_rng(0).permutation(n)  # same every call",
        named="fresh permutation every epoch",
    ),
    # ---- exercise 3: sgd_train
    Mistake(
        name="shuffles-once",
        cell="sgd_train",
        find=(
            "    for epoch in range(epochs):\n"
            "        for Xb, yb in minibatches(X, y, batch_size, rng):"
        ),
        replace=(
            "    batches = list(minibatches(X, y, batch_size, rng))\n"
            "    for epoch in range(epochs):\n"
            "        for Xb, yb in batches:"
        ),
        named="shuffles only once",
    ),
    Mistake(
        name="minibatch-gradient-missing-1/B",
        cell="sgd_train",
        find="grad = 2.0 * Xb.T @ residual / len(yb)",
        replace="grad = 2.0 * Xb.T @ residual",
        named="missing the 1/B factor",
    ),
    Mistake(
        name="updates-w0-in-place",
        cell="sgd_train",
        find="w = np.array(w0, dtype=float)  # a copy, so that w0 is never changed",
        replace="w = np.asarray(w0, dtype=float)",
        named="changed its input `w0` in place",
    ),
    Mistake(
        name="loss-after-the-update",
        cell="sgd_train",
        find="step_losses.append(loss_before)",
        replace="step_losses.append(np.mean((Xb @ w - yb) ** 2))",
        named="measured after the update",
    ),
    # ---- exercise 4: gradient variance, slope, batch size for a target variance
    Mistake(
        name="variance-of-the-sum",
        cell="minibatch_gradient_variance",
        find="g_B = 2.0 * X[idx].T @ (X[idx] @ w - y[idx]) / B",
        replace="g_B = 2.0 * X[idx].T @ (X[idx] @ w - y[idx])",
        named="sum over the batch instead of a mean",
    ),
    Mistake(
        name="second-moment-not-variance",
        cell="minibatch_gradient_variance",
        find="squared_distances.append(np.sum((g_B - full) ** 2))",
        replace="squared_distances.append(np.sum(g_B**2))",
        named="forgot to subtract the full-data gradient",
    ),
    Mistake(
        name="samples-with-replacement",
        cell="minibatch_gradient_variance",
        find="idx = rng.choice(n, size=B, replace=False)",
        replace="idx = rng.choice(n, size=B)",
        named="sampling with replacement",
    ),
    Mistake(
        name="closed-form-instead-of-sampling",
        cell="minibatch_gradient_variance",
        find="variances.append(np.mean(squared_distances))",
        replace=(
            "per_example = 2.0 * X * (X @ w - y)[:, None]\n"
            "        sigma2 = np.mean(np.sum((per_example - full) ** 2, axis=1))\n"
            "        variances.append(sigma2 * (n - B) / (B * (n - 1)))"
        ),
        named="closed-form variance instead of sampling",
    ),
    Mistake(
        name="fit-on-linear-axes",
        cell="fit_exponent",
        find="np.polyfit(np.log(batch_sizes), np.log(variances), 1)",
        replace="np.polyfit(batch_sizes, variances, 1)",
        named="linear axes",
    ),
    Mistake(
        name="no-finite-population-correction",
        cell="batch_for_variance",
        find="threshold = sigma2 * n / (target * (n - 1) + sigma2)",
        replace="threshold = sigma2 / target",
        named="without the finite-population correction",
    ),
    Mistake(
        name="rounds-down",
        cell="batch_for_variance",
        find="np.ceil(threshold)",
        replace="np.floor(threshold)",
        named="rounds down",
    ),
    # ---- exercise 5: counting
    Mistake(
        name="floor-division-updates",
        cell="count_updates",
        find="per_epoch = -(-n // batch_size)  # ceil(n / B) without floating point",
        replace="per_epoch = n // batch_size",
        named="ignores the last partial batch",
    ),
    Mistake(
        name="drop-last-counts-every-example",
        cell="count_updates",
        find="seen_per_epoch = per_epoch * batch_size",
        replace="seen_per_epoch = n",
        named="the examples of the dropped batch are not seen",
    ),
]

# Test data for tests/notebooks/course_harness.py (see DATA_FIELDS there).

# The hidden tests' reference run.
RELEASE_SECRETS = ("reference_losses",)

# Correct solutions written differently from the reference: they must pass the tests too.
ALTERNATIVES = {
    # a permutation's first B indices: B distinct examples, like rng.choice(replace=False)
    "minibatch_gradient_variance": '''
def minibatch_gradient_variance(X, y, w, batch_sizes, rng, trials=200):
    X, y, w = (np.asarray(a, dtype=float) for a in (X, y, w))
    n = X.shape[0]
    full = 2.0 * X.T @ (X @ w - y) / n
    variances = []
    for B in batch_sizes:
        squared_distances = []
        for _ in range(trials):
            idx = rng.permutation(n)[:B]
            g_B = 2.0 * X[idx].T @ (X[idx] @ w - y[idx]) / B
            squared_distances.append(np.sum((g_B - full) ** 2))
        variances.append(np.mean(squared_distances))
    return np.array(variances)
''',
    # |r| = delta is on both pieces' border: the value and the slope agree there
    "huber": '''
def huber(pred, target, delta=1.0):
    pred = np.asarray(pred, dtype=float)
    target = np.asarray(target, dtype=float)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {pred.shape} "
                         f"and {target.shape}")
    if not delta > 0:
        raise ValueError(f"Invalid delta: {delta!r} (must be > 0)")
    r = pred - target
    small = np.abs(r) < delta
    per_entry = np.where(small, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta))
    slope = np.where(small, r, delta * np.sign(r))
    return np.mean(per_entry), slope / r.size
''',
    "count_updates": '''
def count_updates(n, batch_size, epochs, drop_last=False):
    import math

    if drop_last:
        per_epoch = n // batch_size
        seen_per_epoch = per_epoch * batch_size
    else:
        per_epoch = math.ceil(n / batch_size)
        seen_per_epoch = n
    return per_epoch * epochs, seen_per_epoch * epochs
''',
}
