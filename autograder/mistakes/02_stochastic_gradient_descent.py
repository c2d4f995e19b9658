"""Known mistakes for assignment 02 (losses, mini-batches, SGD, gradient variance).

Each entry rewrites one solution cell of
``source/02_stochastic_gradient_descent/02_stochastic_gradient_descent.ipynb``; ``named`` is
a phrase of the hidden tests' failure message for that mistake.
"""

from autograder.mistakes import Mistake

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
        find="grad = 2.0 * diff / diff.size",
        replace="grad = 2.0 * diff",
        named="missing the 1/N factor in the gradient",
    ),
    Mistake(  # the MAE formula as printed in one source lecture (see ERRATA.md)
        name="mae-missing-sum",
        cell="mae",
        find="value = np.mean(np.abs(diff))",
        replace="value = np.abs(diff) / diff.size",
        named="without the sum",
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
        find="order = rng.permutation(n) if shuffle else np.arange(n)",
        replace="order = np.random.permutation(n) if shuffle else np.arange(n)",
        named="uses the global RNG",
    ),
    Mistake(
        name="same-permutation-every-epoch",
        cell="minibatches",
        find="order = rng.permutation(n) if shuffle else np.arange(n)",
        replace="order = np.random.default_rng(0).permutation(n) if shuffle else np.arange(n)",
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
    # ---- exercise 4: gradient variance
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
        name="fit-on-linear-axes",
        cell="fit_exponent",
        find="np.polyfit(np.log(batch_sizes), np.log(variances), 1)",
        replace="np.polyfit(batch_sizes, variances, 1)",
        named="linear axes",
    ),
    # ---- exercise 5: counting
    Mistake(
        name="floor-division-updates",
        cell="count_updates",
        find="per_epoch = -(-n // batch_size)  # ceil(n / B) without floating point",
        replace="per_epoch = n // batch_size",
        named="ignores the last partial batch",
    ),
]
