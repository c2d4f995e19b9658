"""Test objectives for the 1-D and 2-D optimisation demos.

Each constructor returns an :class:`Objective`: the function ``f``, its gradient ``grad``
and Hessian ``hess``, the known minimisers, plotting bounds and a default start ``x0``.

Shapes. For ``dim >= 2``, ``f`` maps ``x`` of shape ``(..., dim)`` to ``(...)``, ``grad`` to
``(..., dim)`` and ``hess`` to ``(..., dim, dim)``, so a contour grid is one call:
``obj.f(np.stack([X, Y], axis=-1))``. For ``dim == 1``, ``f``, ``grad`` (= f') and ``hess``
(= f'') act elementwise on arrays of any shape, so ``obj.f(2.0)`` works.

References: Rosenbrock (1960); Beale (1958); Himmelblau, *Applied Nonlinear Programming*
(1972); Dixon & Szego (1978) for the six-hump camel; Jamil & Yang, "A literature survey of
benchmark functions for global optimisation problems" (2013).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from course_lib._validate import check_count

__all__ = [
    "Objective",
    "quadratic",
    "condition_number",
    "ill_conditioned_quadratic",
    "rosenbrock",
    "beale",
    "himmelblau",
    "booth",
    "saddle",
    "six_hump_camel",
    "double_well",
    "nonconvex_1d",
    "parabola_1d",
]


@dataclass(frozen=True, eq=False)
class Objective:
    """An objective with its derivatives and the facts a plot or a test needs.

    ``minima``: known local minimisers, global ones first; shape ``(k, dim)`` (``(k,)`` for
    ``dim == 1``). ``bounds``: ``((xmin, xmax), (ymin, ymax))`` in 2-D, ``(xmin, xmax)`` in
    1-D, one pair per coordinate otherwise. ``x0``: default start. ``saddles``: known saddle
    points (same layout as ``minima``) or ``None``. ``f_min``: the global minimum value, or
    ``None`` when the function is unbounded below.
    """

    name: str
    dim: int
    f: Callable
    grad: Callable
    hess: Callable
    minima: np.ndarray
    bounds: tuple
    x0: np.ndarray | float
    saddles: np.ndarray | None = None
    f_min: float | None = None
    description: str = field(default="")


# ---------------------------------------------------------------- building blocks


def _points(x, dim: int) -> np.ndarray:
    """``x`` as float64 of shape ``(..., dim)``; no broadcasting of a wrong last axis."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] != dim:
        raise ValueError(
            f"x must have shape (..., {dim}) (last axis of size {dim}), got shape {arr.shape}"
        )
    return arr


def _stack2(a, b) -> np.ndarray:
    """Stack two broadcastable arrays along a new last axis."""
    a, b = np.broadcast_arrays(a, b)
    return np.stack([a, b], axis=-1)


def _hess2(fxx, fxy, fyy) -> np.ndarray:
    """Assemble ``[[fxx, fxy], [fxy, fyy]]`` on the last two axes."""
    return np.stack([_stack2(fxx, fxy), _stack2(fxy, fyy)], axis=-2)


def _make_2d(name, f_xy, grad_xy, hess_xy, **facts) -> Objective:
    """Wrap scalar-pair formulas ``f(x, y)`` into a vectorised 2-D :class:`Objective`."""

    def f(x):
        p = _points(x, 2)
        return np.asarray(f_xy(p[..., 0], p[..., 1]), dtype=np.float64)

    def grad(x):
        p = _points(x, 2)
        return _stack2(*grad_xy(p[..., 0], p[..., 1]))

    def hess(x):
        p = _points(x, 2)
        return _hess2(*hess_xy(p[..., 0], p[..., 1]))

    for key in ("minima", "saddles"):
        if facts.get(key) is not None:
            facts[key] = np.asarray(facts[key], dtype=np.float64).reshape(-1, 2)
    facts["x0"] = np.asarray(facts["x0"], dtype=np.float64)
    return Objective(name=name, dim=2, f=f, grad=grad, hess=hess, **facts)


def _make_1d(name, f1, d1, d2, **facts) -> Objective:
    """Wrap elementwise formulas ``f, f', f''`` into a 1-D :class:`Objective`."""

    def wrap(fn):
        def g(x):
            return fn(np.asarray(x, dtype=np.float64))

        return g

    for key in ("minima", "saddles"):
        if facts.get(key) is not None:
            facts[key] = np.asarray(facts[key], dtype=np.float64).reshape(-1)
    return Objective(name=name, dim=1, f=wrap(f1), grad=wrap(d1), hess=wrap(d2), **facts)


def _newton_refine(grad, hess, guesses, iters: int = 50) -> np.ndarray:
    """Polish approximate stationary points by Newton's method ``x <- x - H^{-1} g``."""
    x = np.array(guesses, dtype=np.float64)
    for _ in range(iters):
        g = np.asarray(grad(x))
        if x.ndim == 1:  # 1-D objective: elementwise f' / f''
            x = x - g / hess(x)
        else:
            x = x - np.linalg.solve(hess(x), g[..., None])[..., 0]
    return x


# ---------------------------------------------------------------- quadratics


def condition_number(A) -> float:
    """kappa(A) = sigma_max / sigma_min (2-norm); equals lambda_max / lambda_min for SPD A.

    Returns ``inf`` for a singular matrix.
    """
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"A must be a non-empty square matrix, got shape {A.shape}")
    s = np.linalg.svd(A, compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 0 else float("inf")


def _check_quadratic_args(A, b):
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"A must be a non-empty square (d, d) matrix, got shape {A.shape}")
    if not np.all(np.isfinite(A)) or not np.allclose(A, A.T, rtol=1e-12, atol=1e-12):
        raise ValueError("A must be finite and symmetric (A == A.T)")
    d = A.shape[0]
    b = np.zeros(d) if b is None else np.asarray(b, dtype=np.float64)
    if b.shape != (d,):
        raise ValueError(f"b must have shape ({d},) to match A, got shape {b.shape}")
    return A, b


def quadratic(A, b=None, x0=None, name: str = "quadratic") -> Objective:
    """f(x) = x^T A x / 2 - b^T x, grad = A x - b, Hessian = A (A symmetric).

    For positive-definite A the unique minimiser is x* = A^{-1} b (``np.linalg.solve(A, b)``).
    An indefinite, non-singular A gives a saddle at the same point and no minima.
    For a 1x1 matrix the objective is 1-D (elementwise), like :func:`parabola_1d`.
    Plotting bounds: a box of half-width ``max(2, 1.5 |x*|_inf)`` around x*.
    """
    A, b = _check_quadratic_args(A, b)
    d = A.shape[0]
    eig = np.linalg.eigvalsh(A)
    centre = np.linalg.solve(A, b) if np.all(eig != 0) else np.zeros(d)
    is_min, is_saddle = bool(eig[0] > 0), bool(eig[0] < 0 < eig[-1])
    half = max(2.0, 1.5 * float(np.max(np.abs(centre))))
    start = centre + half * np.linspace(-0.8, 0.6, d) if x0 is None else x0
    facts = {
        "minima": centre[None] if is_min else np.zeros((0, d)),
        "saddles": centre[None] if is_saddle else None,
        "f_min": float(-0.5 * b @ centre) if is_min else None,
        "description": "x^T A x / 2 - b^T x",
    }
    if d == 1:
        if np.size(start) != 1:
            raise ValueError(f"x0 must be a number for a 1-D quadratic, got {start!r}")
        a, c = float(A[0, 0]), float(b[0])
        return _make_1d(
            name, lambda x: 0.5 * a * x**2 - c * x, lambda x: a * x - c,
            lambda x: np.full_like(x, a), bounds=(centre[0] - half, centre[0] + half),
            x0=float(np.ravel(start)[0]), **facts,
        )  # fmt: skip
    return _quadratic_nd(name, A, b, centre, half, np.asarray(start, dtype=np.float64), facts)


def _quadratic_nd(name, A, b, centre, half, x0, facts) -> Objective:
    d = A.shape[0]
    if x0.shape != (d,):
        raise ValueError(f"x0 must have shape ({d},), got shape {x0.shape}")

    def f(x):
        p = _points(x, d)
        return 0.5 * np.einsum("...i,ij,...j->...", p, A, p) - p @ b  # x^T A x / 2 - b^T x

    def grad(x):
        return _points(x, d) @ A.T - b  # A x - b

    def hess(x):
        p = _points(x, d)
        return np.broadcast_to(A, p.shape[:-1] + (d, d)).copy()  # A

    bounds = tuple((float(c - half), float(c + half)) for c in centre)
    return Objective(name, d, f, grad, hess, bounds=bounds, x0=x0, **facts)


def ill_conditioned_quadratic(
    kappa: float, dim: int = 2, angle: float = 0.0, lambda_min: float = 1.0
) -> Objective:
    """f(x) = x^T A x / 2 with eigenvalues lambda_min ... kappa * lambda_min (condition kappa).

    In 2-D, A = R(angle) diag(lambda_min, kappa lambda_min) R(angle)^T, so the long axis of
    the elliptic contours makes ``angle`` radians with the x axis. For ``dim > 2`` the
    eigenvalues are geometrically spaced and ``angle`` rotates the first two coordinates.
    Minimiser: the origin.
    """
    if not np.isfinite(kappa) or kappa < 1:
        raise ValueError(f"Invalid condition number kappa: {kappa} (must be >= 1)")
    dim = check_count(dim, "dim", 2)
    if not lambda_min > 0:
        raise ValueError(f"Invalid lambda_min: {lambda_min} (must be > 0)")
    lam = lambda_min * np.geomspace(1.0, kappa, dim)  # eigenvalues lambda_i
    rot = np.eye(dim)
    c, s = np.cos(angle), np.sin(angle)
    rot[:2, :2] = [[c, -s], [s, c]]
    A = rot @ np.diag(lam) @ rot.T
    A = 0.5 * (A + A.T)  # exact symmetry despite round-off
    x0 = rot @ np.concatenate([[-1.4], np.full(dim - 1, 0.7)])  # inside the bounds
    obj = quadratic(A, None, x0=x0, name=f"ill-conditioned quadratic (kappa={kappa:g})")
    return obj


# ---------------------------------------------------------------- classic 2-D test functions


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Objective:
    """f(x, y) = (a - x)^2 + b (y - x^2)^2; minimum f = 0 at (a, a^2). Rosenbrock (1960).

    A narrow curved valley: the standard stress test for gradient descent and momentum.
    """
    if not b > 0:
        raise ValueError(f"Invalid b: {b} (must be > 0)")

    def f(x, y):
        return (a - x) ** 2 + b * (y - x**2) ** 2

    def grad(x, y):
        return -2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2)

    def hess(x, y):
        return 2 - 4 * b * y + 12 * b * x**2, -4 * b * x, 2 * b + 0 * x

    xr = max(2.0, 1.5 * abs(a))
    return _make_2d(
        "rosenbrock", f, grad, hess, minima=[(a, a * a)], f_min=0.0,
        bounds=((-xr, xr), (-1.0, max(3.0, a * a + 2.0))), x0=(-1.2 * max(1.0, abs(a)), 1.0),
        description=f"({a:g} - x)^2 + {b:g} (y - x^2)^2",
    )  # fmt: skip


_BEALE_C = (1.5, 2.25, 2.625)


def beale() -> Objective:
    """f = sum_{i=1..3} (c_i - x + x y^i)^2, c = (1.5, 2.25, 2.625); minimum 0 at (3, 0.5).

    Beale (1958). Written as a sum of squared residuals r_i, so grad = 2 sum r_i grad r_i and
    Hess = 2 sum (grad r_i grad r_i^T + r_i Hess r_i). (0, 1) is a saddle point.
    """

    def parts(x, y):  # residuals r_i, their gradients and Hessians (xx = 0)
        for i, c in enumerate(_BEALE_C, start=1):
            r = c - x + x * y**i
            yield (
                r,
                y**i - 1,
                i * x * y ** (i - 1),
                i * y ** (i - 1),
                i * (i - 1) * x * y ** max(i - 2, 0),
            )

    def f(x, y):
        return sum(r**2 for r, *_ in parts(x, y))

    def grad(x, y):
        gx = sum(2 * r * rx for r, rx, *_ in parts(x, y))
        gy = sum(2 * r * ry for r, _, ry, *_ in parts(x, y))
        return gx, gy

    def hess(x, y):
        terms = list(parts(x, y))
        hxx = sum(2 * rx * rx for _, rx, *_ in terms)
        hxy = sum(2 * (rx * ry + r * rxy) for r, rx, ry, rxy, _ in terms)
        hyy = sum(2 * (ry * ry + r * ryy) for r, _, ry, _, ryy in terms)
        return hxx, hxy, hyy

    return _make_2d(
        "beale", f, grad, hess, minima=[(3.0, 0.5)], saddles=[(0.0, 1.0)], f_min=0.0,
        bounds=((-4.5, 4.5), (-4.5, 4.5)), x0=(1.0, 1.5),
        description="(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
    )  # fmt: skip


def _himmelblau_formulas():
    def f(x, y):
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    def grad(x, y):
        u, v = x**2 + y - 11, x + y**2 - 7
        return 4 * x * u + 2 * v, 2 * u + 4 * y * v

    def hess(x, y):
        return 12 * x**2 + 4 * y - 42, 4 * (x + y), 12 * y**2 + 4 * x - 26

    return f, grad, hess


# Literature values (Himmelblau 1972), polished by Newton's method in each call of himmelblau().
_HIMMELBLAU_MINIMA_APPROX = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186),
                             (3.584428, -1.848126)]  # fmt: skip
_HIMMELBLAU_SADDLES_APPROX = [(0.086677, 2.884254), (-3.073026, -0.081353),
                              (3.385154, 0.073852), (-0.127961, -1.953715)]  # fmt: skip


def himmelblau() -> Objective:
    """f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2: four global minima (f = 0).

    Himmelblau (1972). Minima near (3, 2), (-2.805, 3.131), (-3.779, -3.283),
    (3.584, -1.848); four saddles and one local maximum near (-0.271, -0.923).
    """
    f, g, h = _himmelblau_formulas()
    probe = _make_2d("himmelblau", f, g, h, minima=None, bounds=None, x0=(0.0, 0.0))
    minima = _newton_refine(probe.grad, probe.hess, _HIMMELBLAU_MINIMA_APPROX)
    saddles = _newton_refine(probe.grad, probe.hess, _HIMMELBLAU_SADDLES_APPROX)
    return _make_2d(
        "himmelblau", f, g, h, minima=minima, saddles=saddles, f_min=0.0,
        bounds=((-5.0, 5.0), (-5.0, 5.0)), x0=(-0.5, 0.0),
        description="(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
    )  # fmt: skip


def booth() -> Objective:
    """f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2; minimum 0 at (1, 3).

    A convex quadratic with Hessian [[10, 8], [8, 10]] (condition number 9).
    """

    def f(x, y):
        return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2

    def grad(x, y):
        u, v = x + 2 * y - 7, 2 * x + y - 5
        return 2 * u + 4 * v, 4 * u + 2 * v

    def hess(x, y):
        c = np.zeros_like(x)
        return c + 10.0, c + 8.0, c + 10.0

    return _make_2d(
        "booth", f, grad, hess, minima=[(1.0, 3.0)], f_min=0.0,
        bounds=((-10.0, 10.0), (-10.0, 10.0)), x0=(-7.0, -6.0),
        description="(x + 2y - 7)^2 + (2x + y - 5)^2",
    )  # fmt: skip


def saddle() -> Objective:
    """f(x, y) = x^2 - y^2: a saddle at the origin, no minimum (unbounded below).

    The default start lies just off the stable manifold y = 0, so gradient descent first
    approaches the saddle, then escapes along y.
    """

    def hess(x, y):
        c = np.zeros_like(x)
        return c + 2.0, c, c - 2.0

    return _make_2d(
        "saddle", lambda x, y: x**2 - y**2, lambda x, y: (2 * x, -2 * y), hess,
        minima=np.zeros((0, 2)), saddles=[(0.0, 0.0)], f_min=None,
        bounds=((-2.0, 2.0), (-2.0, 2.0)), x0=(-1.5, 1e-3), description="x^2 - y^2",
    )  # fmt: skip


# Approximate minima (Dixon & Szego 1978; Jamil & Yang 2013), refined by Newton's method in
# each call of six_hump_camel().
_CAMEL_MINIMA_APPROX = [(0.0898, -0.7126), (-0.0898, 0.7126), (-1.7036, 0.7961),
                        (1.7036, -0.7961), (1.6071, 0.5687), (-1.6071, -0.5687)]  # fmt: skip


def six_hump_camel() -> Objective:
    """f = (4 - 2.1 x^2 + x^4 / 3) x^2 + x y + (-4 + 4 y^2) y^2. Dixon & Szego (1978).

    Six local minima; the two global ones are +-(0.0898, -0.7126) with f = -1.0316.
    ``minima`` lists the two global minima first, then (-+1.7036, +-0.7961) (f = -0.2155)
    and +-(1.6071, 0.5687) (f = 2.1043).
    """

    def f(x, y):
        return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2

    def grad(x, y):
        return 8 * x - 8.4 * x**3 + 2 * x**5 + y, x - 8 * y + 16 * y**3

    def hess(x, y):
        return 8 - 25.2 * x**2 + 10 * x**4, 1.0 + 0 * x, -8 + 48 * y**2

    probe = _make_2d("six_hump_camel", f, grad, hess, minima=None, bounds=None, x0=(0, 0))
    minima = _newton_refine(probe.grad, probe.hess, _CAMEL_MINIMA_APPROX)
    return _make_2d(
        "six_hump_camel", f, grad, hess, minima=minima, f_min=float(probe.f(minima[0])),
        bounds=((-2.2, 2.2), (-1.2, 1.2)), x0=(-1.5, -1.0),
        description="(4 - 2.1 x^2 + x^4/3) x^2 + x y + (-4 + 4 y^2) y^2",
    )  # fmt: skip


def double_well() -> Objective:
    """f(x, y) = (x^2 - 1)^2 + y^2: minima (+-1, 0) with f = 0, a saddle at the origin.

    Hessian diag(12 x^2 - 4, 2): diag(8, 2) at the minima, diag(-4, 2) at the saddle.
    The default start sits just off the saddle's stable manifold x = 0.
    """

    def hess(x, y):
        return 12 * x**2 - 4, np.zeros_like(x), 2.0 + np.zeros_like(x)

    return _make_2d(
        "double_well", lambda x, y: (x**2 - 1) ** 2 + y**2,
        lambda x, y: (4 * x * (x**2 - 1), 2 * y), hess,
        minima=[(1.0, 0.0), (-1.0, 0.0)], saddles=[(0.0, 0.0)], f_min=0.0,
        bounds=((-2.0, 2.0), (-2.0, 2.0)), x0=(0.05, 1.8), description="(x^2 - 1)^2 + y^2",
    )  # fmt: skip


# ---------------------------------------------------------------- 1-D functions


def nonconvex_1d() -> Objective:
    """f(x) = x^2 / 10 + sin(2x): a bowl with ripples, several local minima.

    f'(x) = x / 5 + 2 cos(2x), f''(x) = 1/5 - 4 sin(2x). On the plotting range [-6, 6]
    there are four local minima, near -pi/4 + k pi: x ~ -0.748 (global, f ~ -0.941),
    -3.736, 2.243 and 5.223 (refined by Newton's method in each call). The default start
    x0 = 3 rolls into the local, non-global minimum near 2.24.
    """

    def f(x):
        return x**2 / 10 + np.sin(2 * x)

    def d1(x):
        return x / 5 + 2 * np.cos(2 * x)

    def d2(x):
        return 0.2 - 4 * np.sin(2 * x)

    guesses = -np.pi / 4 + np.pi * np.array([0.0, -1.0, 1.0, 2.0])  # global first
    minima = _newton_refine(d1, d2, guesses)
    return _make_1d(
        "nonconvex_1d", f, d1, d2, minima=minima, f_min=float(f(minima[0])),
        bounds=(-6.0, 6.0), x0=3.0, description="x^2 / 10 + sin(2x)",
    )  # fmt: skip


def parabola_1d(a: float = 1.0) -> Objective:
    """f(x) = a x^2 / 2, f' = a x, f'' = a; minimum 0 at x = 0.

    Gradient descent with step lr gives x_t = (1 - lr a)^t x_0: it converges iff
    0 < lr < 2 / a. Use ``a = 2`` for f = x^2.
    """
    if isinstance(a, bool) or not np.isfinite(a) or not a > 0:
        raise ValueError(f"Invalid curvature a: {a} (must be a finite number > 0)")
    a = float(a)
    return _make_1d(
        "parabola_1d", lambda x: 0.5 * a * x**2, lambda x: a * x, lambda x: np.full_like(x, a),
        minima=[0.0], f_min=0.0, bounds=(-2.0, 2.0), x0=1.5, description=f"{a:g} x^2 / 2",
    )  # fmt: skip
