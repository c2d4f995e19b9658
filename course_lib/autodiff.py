"""A scalar reverse-mode automatic differentiation engine, ``Value``.

Every operator makes the same three moves (after micrograd, Karpathy 2020): build the output
node, define a local ``_backward`` that adds ``local derivative * out.grad`` to each parent's
``grad`` (the chain rule), and attach it. ``backward()`` sorts the graph topologically and
calls the ``_backward`` functions from the output to the leaves.

    >>> x = Value(2.0, label="x")
    >>> y = x * x + 3 * x
    >>> y.backward()
    >>> x.grad            # dy/dx = 2x + 3
    7.0

Gradients accumulate (``+=``), as in PyTorch: call ``zero_grad()`` on the output (or build a
fresh graph) before a second ``backward()``. Graphs can be shown without Graphviz:
``to_text(value)`` gives an indented tree, ``graph_layout(value)`` the boxes and arrows that
``course_lib.plots.draw_graph(value)`` draws with matplotlib (the engine computes with plain
Python floats; this module does not import matplotlib).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from course_lib._validate import check_real

__all__ = ["GraphLayout", "Value", "as_value", "graph_layout", "to_text", "topological_order"]


def _check_real(x, name: str) -> float:
    """``x`` as a float; TypeError "<name> must be a real number (int or float)" otherwise."""
    return check_real(x, name, "a real number (int or float)")


class Value:
    """A scalar node of a computational graph: ``data``, ``grad`` = d(output)/d(this node)."""

    __slots__ = ("data", "grad", "label", "_backward", "_prev", "_op")

    def __init__(self, data, _children=(), _op: str = "", label: str = ""):
        self.data = _check_real(data, "data")
        self.grad = 0.0
        self.label = label
        self._backward = _noop
        self._prev = tuple(_children)
        self._op = _op

    def __repr__(self) -> str:
        name = f"{self.label}, " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    # ---- binary operators -------------------------------------------------------------------
    def __add__(self, other):
        other = as_value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():  # d(a+b)/da = 1, d(a+b)/db = 1
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __sub__(self, other):
        other = as_value(other)
        out = Value(self.data - other.data, (self, other), "-")

        def _backward():  # d(a-b)/da = 1, d(a-b)/db = -1
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = as_value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():  # d(ab)/da = b, d(ab)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = as_value(other)
        if other.data == 0.0:
            raise ZeroDivisionError("Value division by zero (divisor data is 0.0)")
        out = Value(self.data / other.data, (self, other), "/")

        def _backward():  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
            self.grad += out.grad / other.data
            other.grad -= self.data / other.data**2 * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k):
        if isinstance(k, Value):
            raise TypeError("Value ** Value is not supported: the exponent must be an int or float")
        k = _check_real(k, "exponent")
        if self.data < 0 and not k.is_integer():
            raise ValueError(f"a negative base ({self.data}) needs an integer exponent, got {k}")
        if self.data == 0 and k < 0:
            raise ZeroDivisionError(f"0.0 cannot be raised to a negative power ({k})")
        out = Value(self.data**k, (self,), f"**{k:g}")

        def _backward():  # d(a^k)/da = k a^(k-1)
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def __rpow__(self, base):
        base = _check_real(base, "base")
        if base <= 0:
            raise ValueError(f"base ** Value needs a positive base, got {base}")
        out = Value(base**self.data, (self,), f"{base:g}**")

        def _backward():  # d(c^a)/da = c^a ln c
            self.grad += out.data * math.log(base) * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        out = Value(-self.data, (self,), "neg")

        def _backward():  # d(-a)/da = -1
            self.grad -= out.grad

        out._backward = _backward
        return out

    def __radd__(self, other):  # other + self
        return as_value(other) + self

    def __rsub__(self, other):  # other - self
        return as_value(other) - self

    def __rmul__(self, other):  # other * self
        return as_value(other) * self

    def __rtruediv__(self, other):  # other / self
        return as_value(other) / self

    # ---- unary functions --------------------------------------------------------------------
    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():  # d(e^a)/da = e^a
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log needs a positive input, got {self.data}")
        out = Value(math.log(self.data), (self,), "log")

        def _backward():  # d(ln a)/da = 1/a
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():  # d(tanh a)/da = 1 - tanh(a)^2
            self.grad += (1.0 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        out = Value(_sigmoid(self.data), (self,), "sigmoid")

        def _backward():  # d(sigma(a))/da = sigma(a) (1 - sigma(a))
            self.grad += out.data * (1.0 - out.data) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward():  # d(max(a, 0))/da = 1 if a > 0 else 0 (0 at a = 0, as PyTorch)
            self.grad += (self.data > 0) * out.grad

        out._backward = _backward
        return out

    # ---- the backward pass ------------------------------------------------------------------
    def backward(self) -> None:
        """Reverse-mode sweep: set d(self)/d(self) = 1, then apply the chain rule to every node
        in reverse topological order, so a node's grad is complete before it is propagated."""
        self.grad = 1.0
        for node in reversed(topological_order(self)):
            node._backward()

    def zero_grad(self) -> None:
        """Set ``grad = 0`` on every node of the graph that ends in this node."""
        for node in topological_order(self):
            node.grad = 0.0


def _noop() -> None:
    return None


def _sigmoid(a: float) -> float:
    """Numerically stable logistic function 1 / (1 + e^-a)."""
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    z = math.exp(a)
    return z / (1.0 + z)


def as_value(x) -> Value:
    """Return ``x`` if it is a ``Value``, else wrap the number ``x`` in a new leaf ``Value``."""
    return x if isinstance(x, Value) else Value(x)


def topological_order(root: Value) -> list[Value]:
    """Nodes of the graph ending in ``root``, every node after all of its inputs.

    Iterative depth-first search (no recursion, so chains of 10^5 nodes are fine).
    """
    if not isinstance(root, Value):
        raise TypeError(f"root must be a Value, got {type(root).__name__}")
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in node._prev if id(child) not in visited)
    return order


def _describe(node: Value) -> str:
    op = node._op or "leaf"
    label = f" {node.label}" if node.label else ""
    return f"[{op}]{label} data={node.data:.4g} grad={node.grad:.4g}"


def to_text(value: Value, max_depth: int | None = None) -> str:
    """Indented tree of the graph ending in ``value``: one line per node, ``[op] label data
    grad``, inputs indented below the node they feed. A node shared by several parents is
    listed once; later mentions read ``(shown above)``."""
    if not isinstance(value, Value):
        raise TypeError(f"value must be a Value, got {type(value).__name__}")
    if max_depth is not None and (isinstance(max_depth, bool) or max_depth < 0):
        raise ValueError(f"max_depth must be None or an int >= 0, got {max_depth}")
    lines, shown, stack = [], set(), [(value, 0)]
    while stack:
        node, depth = stack.pop()
        pad = "  " * depth
        if id(node) in shown:
            lines.append(f"{pad}{_describe(node)} (shown above)")
            continue
        shown.add(id(node))
        lines.append(pad + _describe(node))
        if node._prev and max_depth is not None and depth >= max_depth:
            lines.append(f"{pad}  ...")
            continue
        stack.extend((child, depth + 1) for child in reversed(node._prev))
    return "\n".join(lines)


def _preorder(value: Value) -> list[Value]:
    """Nodes in depth-first pre-order from the output (the order ``to_text`` lists them)."""
    order, seen, stack = [], set(), [value]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            order.append(node)
            stack.extend(reversed(node._prev))
    return order


def _positions(value: Value) -> dict[int, tuple[float, float]]:
    """x: inputs left, output right, a node left of all its consumers
    (longest path to the output); y: pre-order rank within the column, centred on 0."""
    depth = {id(value): 0}
    for node in reversed(topological_order(value)):  # every consumer precedes its inputs
        for child in node._prev:
            depth[id(child)] = max(depth.get(id(child), 0), depth[id(node)] + 1)
    last = max(depth.values())
    columns: dict[int, list[int]] = {}
    for node in _preorder(value):
        columns.setdefault(depth[id(node)], []).append(id(node))
    pos = {}
    for d, ids in columns.items():
        for row, key in enumerate(ids):
            pos[key] = (float(last - d), (len(ids) - 1) / 2 - row)
    return pos


class GraphLayout(NamedTuple):
    """Where to draw each node: ``boxes`` [(text, x, y)], one per node, inputs first;
    ``edges`` [((x_input, y_input), (x_node, y_node))], one per input of each node."""

    boxes: list
    edges: list


def graph_layout(value: Value) -> GraphLayout:
    """Positions (in node units) and texts for drawing the graph ending in ``value``, with no
    drawing library: ``course_lib.plots.draw_graph`` turns them into a figure."""
    if not isinstance(value, Value):
        raise TypeError(f"value must be a Value, got {type(value).__name__}")
    pos = _positions(value)
    boxes, edges = [], []
    for node in topological_order(value):
        text = _describe(node).replace(" data=", "\ndata=").replace(" grad=", "\ngrad=")
        boxes.append((text, *pos[id(node)]))
        edges.extend((pos[id(child)], pos[id(node)]) for child in node._prev)
    return GraphLayout(boxes, edges)
