"""Known mistakes for assignment 08_initialization (weight initialisation).

Each one is applied to the solution region of its cell; the tests of that exercise must
then fail with a message containing ``named``. The ``find`` texts of one cell do not overlap
and no replacement destroys another's ``find``, so any two mistakes of a cell combine; the
hidden tests recognise single mistakes and pairs (``combined`` in the setup cell), so both are
named unless one hides the other (fan_in/fan_out swapped is invisible once He divides by
fan_in + fan_out).
"""

from autograder.demo.mistakes import Mistake

MISTAKES = [
    # Exercise 1a: Xavier uniform
    Mistake(name="xavier-uniform-no-6", cell="xavier_uniform",
            find="np.sqrt(6.0 / (fan_in + fan_out))", replace="np.sqrt(2.0 / (fan_in + fan_out))",
            named="the uniform bound without the 6"),
    Mistake(name="xavier-uniform-global-rng", cell="xavier_uniform",
            find="rng.uniform(", replace="np.random.uniform(",
            named="the global np.random instead of rng"),
    # Exercise 1b: Xavier normal
    Mistake(name="xavier-normal-variance-as-std", cell="xavier_normal",
            find="sigma = np.sqrt(variance)", replace="sigma = variance",
            named="the variance used as the standard deviation"),
    Mistake(name="xavier-normal-global-rng", cell="xavier_normal",
            find="rng.normal(", replace="np.random.normal(",
            named="the global np.random instead of rng"),
    # Exercise 1c: Kaiming (He) normal
    Mistake(name="kaiming-variance-as-std", cell="kaiming_normal",
            find="sigma = np.sqrt(variance)", replace="sigma = variance",
            named="the variance used as the standard deviation"),
    Mistake(name="kaiming-fans-swapped", cell="kaiming_normal",
            find='fan = fan_in if mode == "fan_in" else fan_out',
            replace='fan = fan_out if mode == "fan_in" else fan_in',
            named="fan_in and fan_out swapped"),
    Mistake(name="kaiming-fan-sum", cell="kaiming_normal",
            find="variance = gain**2 / fan", replace="variance = gain**2 / (fan_in + fan_out)",
            named="He with fan_in + fan_out"),
    Mistake(name="kaiming-relu-gain-1", cell="kaiming_normal",
            find='"relu": np.sqrt(2.0)', replace='"relu": 1.0',
            named="the ReLU gain 1 instead of sqrt(2)"),
    Mistake(name="kaiming-global-rng", cell="kaiming_normal",
            find="rng.normal(", replace="np.random.normal(",
            named="the global np.random instead of rng"),
    # Exercise 2: per-layer statistics
    Mistake(name="statistics-pre-activation", cell="layer_statistics",
            find="(np.mean(h), np.std(h))", replace="(np.mean(z), np.std(z))",
            named="statistics of the pre-activations"),
    Mistake(name="statistics-no-transpose", cell="layer_statistics",
            find="z = h @ W.T", replace="z = h @ W",
            named="multiplies by W instead of W.T"),
    Mistake(name="statistics-input-counted", cell="layer_statistics",
            find="stats = []", replace="stats = [(h.mean(), h.std())]",
            named="the input x is counted as a layer"),
    # Exercise 3: the predicted size at depth L
    Mistake(name="rms-uniform-variance", cell="predicted_rms",
            find="scale**2 / 3 if", replace="scale**2 if",
            named="the variance of U(-s, s) taken as s^2"),
    Mistake(name="rms-relu-no-half", cell="predicted_rms",
            find="keep = 0.5 if", replace="keep = 1.0 if",
            named="factor 1/2 is missing"),
    Mistake(name="rms-one-layer-too-many", cell="predicted_rms",
            find="** (depth / 2)", replace="** ((depth + 1) / 2)",
            named="one layer too many"),
    # Exercise 4a: symmetry during training
    Mistake(name="spread-params-mutated", cell="spread_during_training",
            find="{name: np.array(value, dtype=float) for name, value in params.items()}",
            replace="params", named="changed its input `params` in place"),
    Mistake(name="spread-wrong-axis", cell="spread_during_training",
            find="np.ptp(units, axis=0)", replace="np.ptp(units, axis=1)",
            named="across the inputs of one unit"),
    Mistake(name="spread-one-short", cell="spread_during_training",
            find="range(steps + 1)", replace="range(steps)", named="one entry short"),
    # Exercise 4b: which starts break the symmetry
    Mistake(name="breakers-relu-zero", cell="symmetry_breakers",
            find='"B": False', replace='"B": True', named="derivative at 0 is 0"),
    Mistake(name="breakers-zero-tanh-stuck", cell="symmetry_breakers",
            find='"C": True', replace='"C": False', named="the tanh derivative at 0 is 1"),
    Mistake(name="breakers-output-bias", cell="symmetry_breakers",
            find='"D": False', replace='"D": True', named="b2 is shared by no hidden unit"),
    # Exercise 5a: the prediction for a deep ReLU network
    Mistake(name="last-layer-no-half", cell="predict_last_layer",
            find="keep = 0.5", replace="keep = 1.0", named="factor 1/2 per layer is missing"),
    Mistake(name="last-layer-default-no-third", cell="predict_last_layer",
            find="784 * (1 / (3 * 784)) * keep, 256 * (1 / (3 * 256)) * keep",
            replace="784 * (1 / 784) * keep, 256 * (1 / 256) * keep",
            named="the default variance taken as 1 / n_in"),
    Mistake(name="last-layer-kaiming-fan-out", cell="predict_last_layer",
            find="784 * 2 / 784 * keep", replace="784 * 2 / 256 * keep",
            named="the first layer divided by its fan_out"),
]

MIN_MISTAKES = 24

# Lines that must not reach students beyond solution and hidden-test lines.
RELEASE_SECRETS = ("Model answer", '"A": True, "B": False')

# Correct solutions written differently from the reference: they must pass their test cells
# quietly (the hidden tests are not over-strict).
ALTERNATIVES = {
    "xavier_uniform": '''
def xavier_uniform(rng, shape, gain=1.0):
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a Generator")
    shape = tuple(shape)
    if len(shape) != 2 or any(not isinstance(n, (int, np.integer)) or n < 1 for n in shape):
        raise ValueError(f"bad shape {shape}")
    if gain <= 0:
        raise ValueError("gain must be positive")
    a = gain * (6 / (shape[0] + shape[1])) ** 0.5
    return a * (2 * rng.random(shape) - 1)
''',
    "kaiming_normal": '''
def kaiming_normal(rng, shape, mode="fan_in", nonlinearity="relu"):
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a Generator")
    if len(shape) != 2 or not all(isinstance(n, (int, np.integer)) and n >= 1 for n in shape):
        raise ValueError(f"bad shape {shape}")
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"bad mode {mode}")
    gain = {"relu": 2 ** 0.5, "tanh": 5 / 3, "linear": 1.0, "sigmoid": 1.0}.get(nonlinearity)
    if gain is None:
        raise ValueError(f"bad nonlinearity {nonlinearity}")
    fan = shape[1] if mode == "fan_in" else shape[0]
    return gain / np.sqrt(fan) * rng.standard_normal(tuple(int(n) for n in shape))
''',
    "layer_statistics": '''
def layer_statistics(weights, activation, x):
    if activation not in ("linear", "relu", "tanh", "sigmoid"):
        raise ValueError(f"unknown activation {activation}")
    h = np.array(x, dtype=float)
    if h.ndim != 2:
        raise ValueError("x has the wrong shape")
    means, stds = np.zeros(len(weights)), np.zeros(len(weights))
    for l, W in enumerate(weights):
        if np.ndim(W) != 2 or np.shape(W)[1] != h.shape[1]:
            raise ValueError("weight shape does not fit")
        h = np.einsum("bi,oi->bo", h, W)
        if activation == "relu":
            h = h * (h > 0)
        elif activation == "tanh":
            h = np.tanh(h)
        elif activation == "sigmoid":
            h = 0.5 * (1 + np.tanh(h / 2))
        means[l], stds[l] = h.mean(), np.sqrt(np.mean((h - h.mean()) ** 2))
    return means, stds
''',
    "spread_during_training": '''
def spread_during_training(params, X, y, lr, steps, activation="tanh"):
    if steps < 0 or lr <= 0:
        raise ValueError("bad steps or lr")
    sizes = [params["W1"].shape[1], params["W1"].shape[0], params["W2"].shape[0]]
    model = nn.MLP(sizes, activation=activation, loss="mse")
    p = dict(params)
    losses, spreads = np.zeros(steps + 1), np.zeros(steps + 1)
    for t in range(steps + 1):
        P = np.hstack([p["W1"], p["b1"][:, None]])
        spreads[t] = (P.max(axis=0) - P.min(axis=0)).max()
        losses[t], g = model.loss_and_grad(p, X, y)
        p = {k: p[k] - lr * g[k] for k in p}
    return losses, spreads
''',
}
