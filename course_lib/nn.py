"""Vectorised layers with ``forward``/``backward`` and a small MLP with a flat parameter dict.

Shapes follow PyTorch: a batch ``x`` is ``(n, features)``; ``Linear`` holds ``W`` of shape
``(fan_out, fan_in)`` and ``b`` of shape ``(fan_out,)`` and computes ``y = x W^T + b``
(``torch.nn.Linear``). ``forward`` caches what ``backward`` needs; ``backward(dout)`` takes
dL/d(output) and returns dL/d(input), storing parameter gradients (``dW``, ``db``).

The ``MLP`` is functional instead: parameters live in a flat dict ``{"W1", "b1", "W2", ...}``
that ``course_lib.optim`` updates, and ``loss_and_grad(params, X, y)`` returns
``(loss, grads)`` with the same keys (backpropagation, Rumelhart et al. 1986).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from course_lib import init as initializers
from course_lib import losses
from course_lib._validate import check_int, check_labels, check_rng

__all__ = [
    "ACTIVATIONS", "INITS", "Linear", "MLP", "ReLU", "Sigmoid", "SoftmaxCrossEntropy", "Tanh",
    "activation_backward", "activation_forward", "init_linear", "linear_backward",
    "linear_forward",
]

INITS = ("default", "zeros", "uniform_fan_in", "xavier_uniform", "xavier_normal",
         "kaiming_uniform", "kaiming_normal")

# name -> (phi, phi'): h = phi(z) and phi'(z, h), written through z or through h = phi(z)
_PHI = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, h: z > 0),  # 1[z > 0], 0 at 0 (PyTorch)
    "tanh": (np.tanh, lambda z, h: 1.0 - h**2),  # 1 - tanh(z)^2
    "sigmoid": (losses.sigmoid, lambda z, h: h * (1.0 - h)),  # sigma(z) (1 - sigma(z))
    "identity": (np.copy, lambda z, h: np.ones_like(z)),  # 1
}
ACTIVATIONS = tuple(_PHI)


# ---- validation helpers ---------------------------------------------------------------------
def _check_batch(x, width: int, name: str = "x") -> np.ndarray:
    """Return ``x`` as a float64 array of shape ``(n, width)``, or raise naming the shapes."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != width:
        raise ValueError(f"{name} must have shape (n, {width}), got {x.shape}")
    return x


def _check_matching(arr, shape: tuple, name: str) -> np.ndarray:
    arr = np.asarray(arr, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return arr


# ---- initialisation -------------------------------------------------------------------------
def init_linear(rng: np.random.Generator, fan_in: int, fan_out: int,
                init: str | Callable = "default") -> tuple[np.ndarray, np.ndarray]:
    """Initial ``(W, b)`` with ``W`` of shape ``(fan_out, fan_in)``.

    ``"default"`` is ``torch.nn.Linear.reset_parameters``: kaiming_uniform with a = sqrt(5),
    i.e. W ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), then b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    Any other name calls ``course_lib.init.<name>(rng, (fan_out, fan_in))`` with its defaults
    (``"zeros"`` gives zeros); a callable ``init(rng, shape)`` is used as is. In both cases the
    bias starts at zero.
    """
    check_rng(rng)
    fan_in = check_int(fan_in, "fan_in", 1)
    fan_out = check_int(fan_out, "fan_out", 1)
    shape = (fan_out, fan_in)
    if isinstance(init, str) and init == "default":
        # bound 1/sqrt(fan_in) = gain(a = sqrt 5) * sqrt(3 / fan_in), for W and for b
        W = initializers.uniform_fan_in(rng, shape)
        return W, initializers.uniform_fan_in(rng, (fan_out,), fan_in=fan_in)
    if isinstance(init, str) and init == "zeros":
        return np.zeros(shape), np.zeros(fan_out)
    if isinstance(init, str) and init in INITS:
        init = getattr(initializers, init)
    elif not callable(init):
        raise ValueError(f"Invalid init: {init!r} (must be one of {INITS} or a callable)")
    W = _check_matching(init(rng, shape), shape, "the initialised weight")
    return W, np.zeros(fan_out)


# ---- layer functions (used by the layer classes and by the MLP) -----------------------------
def linear_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """y = x W^T + b, shapes (n, fan_in) -> (n, fan_out)."""
    return x @ W.T + b


def linear_backward(dout: np.ndarray, x: np.ndarray, W: np.ndarray):
    """Given dL/dy, return (dL/dx, dL/dW, dL/db) for y = x W^T + b."""
    dx = dout @ W  # dL/dx = dL/dy W
    dW = dout.T @ x  # dL/dW = (dL/dy)^T x, summed over the batch
    db = dout.sum(axis=0)  # dL/db = sum_i dL/dy_i
    return dx, dW, db


def _activation(name: str):
    """The pair (phi, phi') of the activation called ``name``."""
    if name not in ACTIVATIONS:  # a tuple: any name, even unhashable, gets this message
        raise ValueError(f"Invalid activation: {name!r} (must be one of {ACTIVATIONS})")
    return _PHI[name]


def activation_forward(name: str, z: np.ndarray) -> np.ndarray:
    """h = phi(z) for phi in relu, tanh, sigmoid, identity."""
    phi, _ = _activation(name)
    return phi(z)


def activation_backward(name: str, dout: np.ndarray, z: np.ndarray, h: np.ndarray) -> np.ndarray:
    """dL/dz = dL/dh * phi'(z), with phi' written through z or h = phi(z)."""
    _, dphi = _activation(name)
    return dout * dphi(z, h)


# ---- layer classes --------------------------------------------------------------------------
class Linear:
    """Fully connected layer y = x W^T + b (``torch.nn.Linear``), W of shape (fan_out, fan_in)."""

    def __init__(self, fan_in: int, fan_out: int, rng: np.random.Generator,
                 init: str | Callable = "default"):
        self.W, self.b = init_linear(rng, fan_in, fan_out, init)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        self._x = None

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {"W": self.W, "b": self.b}

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {"W": self.dW, "b": self.db}

    def forward(self, x) -> np.ndarray:
        self._x = _check_batch(x, self.W.shape[1], "Linear input x")
        return linear_forward(self._x, self.W, self.b)

    def backward(self, dout) -> np.ndarray:
        if self._x is None:
            raise RuntimeError("Linear.backward called before forward")
        dout = _check_matching(dout, (self._x.shape[0], self.W.shape[0]), "dout")
        dx, self.dW, self.db = linear_backward(dout, self._x, self.W)
        return dx


class _Activation:
    """Elementwise h = phi(z); backward returns dL/dz = dL/dh * phi'(z)."""

    name = "identity"

    def __init__(self):
        self._z = self._h = None

    def forward(self, z) -> np.ndarray:
        self._z = np.asarray(z, dtype=np.float64)
        self._h = activation_forward(self.name, self._z)
        return self._h

    def backward(self, dout) -> np.ndarray:
        if self._z is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        dout = _check_matching(dout, self._z.shape, "dout")
        return activation_backward(self.name, dout, self._z, self._h)


class ReLU(_Activation):
    """max(z, 0) elementwise (``torch.nn.ReLU``)."""

    name = "relu"


class Sigmoid(_Activation):
    """1 / (1 + e^-z) elementwise (``torch.nn.Sigmoid``)."""

    name = "sigmoid"


class Tanh(_Activation):
    """tanh(z) elementwise (``torch.nn.Tanh``)."""

    name = "tanh"


class SoftmaxCrossEntropy:
    """L = mean_i -log softmax(z_i)[y_i] (``torch.nn.CrossEntropyLoss``); dL/dz = (p - onehot)/n.

    ``forward(logits, labels)`` returns the loss; ``backward(dout=1.0)`` returns dout * dL/dz.
    """

    def __init__(self):
        self._grad = None

    def forward(self, logits, labels) -> float:
        logits = np.asarray(logits, dtype=np.float64)
        if logits.ndim != 2:
            raise ValueError(f"logits must have shape (n, classes), got {logits.shape}")
        labels = check_labels(labels, logits.shape[0], logits.shape[1],
                              integral_floats=True)
        loss, self._grad = losses.softmax_cross_entropy(logits, labels)
        return float(loss)

    def backward(self, dout: float = 1.0) -> np.ndarray:
        if self._grad is None:
            raise RuntimeError("SoftmaxCrossEntropy.backward called before forward")
        if np.ndim(dout) != 0:
            raise ValueError(f"dout must be a scalar (the loss is a scalar), got {np.shape(dout)}")
        return float(dout) * self._grad


# ---- the multi-layer perceptron -------------------------------------------------------------
class MLP:
    """h_0 = X, h_l = phi(h_{l-1} W_l^T + b_l) for l < L, output z = h_{L-1} W_L^T + b_L.

    ``sizes = [d_in, hidden..., d_out]``; parameters ``W1, b1, ..., WL, bL`` in a flat dict.
    ``loss="cross_entropy"``: z are logits, y integer labels (``torch.nn.CrossEntropyLoss``);
    ``loss="mse"``: z are predictions, y of shape (n, d_out) or (n,) when d_out == 1
    (``course_lib.losses.mse``).
    """

    def __init__(self, sizes: Sequence[int], activation: str = "relu",
                 loss: str = "cross_entropy", init: str | Callable = "default"):
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
            raise ValueError(f"sizes must be a sequence of >= 2 layer widths, got {sizes!r}")
        self.sizes = tuple(check_int(s, "layer size", 1) for s in sizes)
        _activation(activation)  # an unknown name raises here, not at the first forward
        if loss not in ("cross_entropy", "mse"):
            raise ValueError(f"Invalid loss: {loss!r} (must be 'cross_entropy' or 'mse')")
        if loss == "cross_entropy" and self.sizes[-1] < 2:
            raise ValueError(f"cross_entropy needs >= 2 output classes, got {self.sizes[-1]}")
        if not (callable(init) or init in INITS):
            raise ValueError(f"Invalid init: {init!r} (must be one of {INITS} or a callable)")
        self.activation, self.loss_name, self.init_method = activation, loss, init

    def __repr__(self) -> str:
        return (f"MLP(sizes={list(self.sizes)}, activation={self.activation!r}, "
                f"loss={self.loss_name!r})")

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Parameter name -> shape: W_l (sizes[l], sizes[l-1]), b_l (sizes[l],)."""
        out = {}
        for layer in range(1, len(self.sizes)):
            fan_in, fan_out = self.sizes[layer - 1], self.sizes[layer]
            out[f"W{layer}"], out[f"b{layer}"] = (fan_out, fan_in), (fan_out,)
        return out

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Fresh parameters, layer by layer (W1, b1, W2, ...), drawn from ``rng``."""
        params = {}
        for layer in range(1, len(self.sizes)):
            W, b = init_linear(rng, self.sizes[layer - 1], self.sizes[layer], self.init_method)
            params[f"W{layer}"], params[f"b{layer}"] = W, b
        return params

    def _check_params(self, params) -> dict[str, np.ndarray]:
        if not isinstance(params, dict):
            raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
        if set(params) != set(self.shapes):
            raise ValueError(f"params must have keys {sorted(self.shapes)}, got {sorted(params)}")
        return {k: _check_matching(params[k], s, f"params[{k!r}]") for k, s in self.shapes.items()}

    def _forward(self, params, X):
        """Output z and per-layer cache [(h_in, z_l, h_l)] for backpropagation."""
        p = self._check_params(params)
        h = _check_batch(X, self.sizes[0], "X")
        cache = []
        n_layers = len(self.sizes) - 1
        for layer in range(1, n_layers + 1):
            z = linear_forward(h, p[f"W{layer}"], p[f"b{layer}"])  # z_l = h_{l-1} W_l^T + b_l
            h_out = activation_forward(self.activation, z) if layer < n_layers else z
            cache.append((h, z, h_out))
            h = h_out
        return h, cache, p

    def forward(self, params, X, return_activations: bool = False):
        """Logits (or predictions) of shape (n, d_out); with ``return_activations=True`` also the
        list of hidden-layer outputs [h_1, ..., h_{L-1}] (for activation histograms)."""
        out, cache, _ = self._forward(params, X)
        if return_activations:
            return out, [h for _, _, h in cache[:-1]]
        return out

    def _loss(self, out, y):
        """(loss, dL/d out) of the chosen loss."""
        if self.loss_name == "cross_entropy":
            labels = check_labels(y, out.shape[0], out.shape[1], "y", integral_floats=True)
            loss, dout = losses.softmax_cross_entropy(out, labels)
        else:
            target = np.asarray(y, dtype=np.float64)
            if target.shape == (out.shape[0],) and out.shape[1] == 1:
                target = target.reshape(-1, 1)  # (n,) targets for a single output
            target = _check_matching(target, out.shape, "y")
            loss, dout = losses.mse(out, target)
        return float(loss), np.asarray(dout, dtype=np.float64)

    def loss(self, params, X, y) -> float:
        """The loss L(params; X, y) without gradients."""
        out, _, _ = self._forward(params, X)
        return self._loss(out, y)[0]

    def loss_and_grad(self, params, X, y):
        """(L, {name: dL/d param}) by backpropagation, keys in the order of ``shapes``."""
        out, cache, p = self._forward(params, X)
        loss, dout = self._loss(out, y)
        grads = {}
        for layer in range(len(cache), 0, -1):
            h_in, z, h = cache[layer - 1]
            if layer < len(cache):  # dL/dz_l = dL/dh_l * phi'(z_l)
                dout = activation_backward(self.activation, dout, z, h)
            dout, grads[f"W{layer}"], grads[f"b{layer}"] = linear_backward(
                dout, h_in, p[f"W{layer}"])
        return loss, {k: grads[k] for k in self.shapes}

    def predict(self, params, X) -> np.ndarray:
        """Class indices argmax_k z_k (cross-entropy) or the predictions z (mse)."""
        out = self.forward(params, X)
        return out.argmax(axis=1) if self.loss_name == "cross_entropy" else out

    def accuracy(self, params, X, y) -> float:
        """Fraction of rows whose predicted class equals y."""
        if self.loss_name != "cross_entropy":
            raise ValueError("accuracy needs loss='cross_entropy'")
        out = self.forward(params, X)
        labels = check_labels(y, out.shape[0], out.shape[1], "y", integral_floats=True)
        return float(np.mean(out.argmax(axis=1) == labels))
