"""course_lib: the numpy reference implementation behind the course.

Numerical modules (everything except ``plots`` and ``widgets``) import numpy only.

    functions   objective bundles for 1-D/2-D demos (f, grad, hess, minima, bounds)
    optim       optimizers as Transform(init, update) pairs, PyTorch-compatible defaults
    schedules   learning-rate schedules: plain ``step -> lr`` functions
    init        weight initialisers taking an ``np.random.Generator``
    clip        gradient clipping (by value, by norm, by global norm)
    losses      losses returning ``(value, gradient)``
    autodiff    a scalar reverse-mode ``Value`` for the chain-rule lecture
    nn          vectorised layers with forward/backward and a small MLP
    gradcheck   central differences, ``rel_error``, ``check_grad``
    data        seeded synthetic data sets and a mini-batch iterator
    train       ``minimize`` (objectives) and ``fit`` (models) loops
    plots       contour plots, trajectories, loss curves (matplotlib)
    widgets     interactive explorers with static fallbacks (ipywidgets)
    checks      layered checks and mistake diagnosis used by assignments
"""

__version__ = "0.1.0"
