"""Learning-rate schedules: plain functions ``step -> lr`` (step counted from 0).

Each constructor validates its arguments and returns a callable; the callable raises
``ValueError`` for a step below 0 and ``TypeError`` for a step that is not an integer. Where
PyTorch has a scheduler, the function equals its documented closed form with ``step`` equal to
the scheduler's ``last_epoch`` (https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate).
Pass a schedule as ``lr`` to any optimizer in ``course_lib.optim``; the optimizer counts steps.
"""

from __future__ import annotations

import math

from course_lib._validate import check_count, check_int, check_range

__all__ = [
    "constant", "step_lr", "exponential", "exponential_decay", "inverse_time",
    "cosine_annealing", "linear_warmup", "warmup_cosine", "one_cycle", "ReduceLROnPlateau",
]


def _check_step(step):
    """TypeError for a step that is not an int, ValueError for one below 0."""
    return check_count(check_int(step, "step"), "step", 0, repeat_name=True)


def _check_real(value, name, low=0.0, high=math.inf, low_open=False, high_open=False):
    """A float in the range, else "Invalid <name>: <value> (<name> must be in [low, high])"."""
    return check_range(value, name, low, high, low_open=low_open, high_open=high_open,
                       interval=True)


def _check_count(value, name, minimum=1):
    """An int >= minimum, else "Invalid <name>: <value> (<name> must be an integer >= ...)"."""
    return check_count(value, name, minimum, repeat_name=True)


def constant(lr):
    """``lr_t = lr``."""
    lr = _check_real(lr, "lr")

    def schedule(step):
        _check_step(step)
        return lr

    return schedule


def step_lr(lr, step_size, gamma=0.1):
    """StepLR: ``lr_t = lr * gamma^floor(t / step_size)``."""
    lr, gamma = _check_real(lr, "lr"), _check_real(gamma, "gamma")
    step_size = _check_count(step_size, "step_size")

    def schedule(step):
        return lr * gamma ** (_check_step(step) // step_size)

    return schedule


def exponential(lr, gamma):
    """ExponentialLR: ``lr_t = lr * gamma^t``."""
    lr, gamma = _check_real(lr, "lr"), _check_real(gamma, "gamma")

    def schedule(step):
        return lr * gamma ** _check_step(step)

    return schedule


def exponential_decay(lr, k):
    """Exponential decay ``lr_t = lr * exp(-k t)`` (= ``exponential(lr, exp(-k))``)."""
    lr, k = _check_real(lr, "lr"), _check_real(k, "k")

    def schedule(step):
        return lr * math.exp(-k * _check_step(step))

    return schedule


def inverse_time(lr, k):
    """1/t decay ``lr_t = lr / (1 + k t)``."""
    lr, k = _check_real(lr, "lr"), _check_real(k, "k")

    def schedule(step):
        return lr / (1.0 + k * _check_step(step))

    return schedule


def cosine_annealing(lr, T_max, eta_min=0.0):  # noqa: N803 (PyTorch's name)
    """CosineAnnealingLR closed form: ``eta_min + (lr - eta_min) (1 + cos(pi t / T_max)) / 2``.

    As PyTorch's closed form, the formula continues past ``T_max`` (the rate rises again).
    """
    lr, eta_min = _check_real(lr, "lr"), _check_real(eta_min, "eta_min")
    T_max = _check_count(T_max, "T_max")  # noqa: N806

    def schedule(step):
        cos = math.cos(math.pi * _check_step(step) / T_max)
        return eta_min + (lr - eta_min) * (1.0 + cos) / 2.0

    return schedule


def linear_warmup(lr, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
    """LinearLR: ``lr_t = lr * (s + (e - s) * min(t, T) / T)``, s, e the start and end factors."""
    lr = _check_real(lr, "lr")
    start = _check_real(start_factor, "start_factor", 0.0, 1.0, low_open=True)
    end = _check_real(end_factor, "end_factor", 0.0, 1.0)
    total_iters = _check_count(total_iters, "total_iters")

    def schedule(step):
        frac = min(_check_step(step), total_iters) / total_iters
        return lr * (start + (end - start) * frac)

    return schedule


def warmup_cosine(lr, warmup_steps, total_steps, eta_min=0.0):
    """Linear warm-up from 0 then cosine decay to ``eta_min`` (Goyal et al. 2017; Loshchilov &
    Hutter 2017; the form of ``get_cosine_schedule_with_warmup`` in Hugging Face transformers):

    ``t < W``: ``lr t / W``; ``W <= t <= T``: ``eta_min + (lr - eta_min)(1 + cos(pi (t - W) /
    (T - W))) / 2``; ``t > T``: ``eta_min``.
    """
    lr, eta_min = _check_real(lr, "lr"), _check_real(eta_min, "eta_min")
    warmup_steps = _check_count(warmup_steps, "warmup_steps", 0)
    total_steps = _check_count(total_steps, "total_steps", warmup_steps + 1)

    def schedule(step):
        t = _check_step(step)
        if t < warmup_steps:
            return lr * t / warmup_steps  # linear warm-up
        frac = min(t - warmup_steps, total_steps - warmup_steps) / (total_steps - warmup_steps)
        return eta_min + (lr - eta_min) * (1.0 + math.cos(math.pi * frac)) / 2.0

    return schedule


def _anneal(start, end, pct, strategy):
    """OneCycleLR's annealing from ``start`` (pct = 0) to ``end`` (pct = 1)."""
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1.0)
    return (end - start) * pct + start


def one_cycle(max_lr, total_steps, pct_start=0.3, anneal_strategy="cos", div_factor=25.0,
              final_div_factor=1e4, three_phase=False):
    """OneCycleLR (Smith & Topin 2019) as implemented by ``torch.optim.lr_scheduler``.

    Starts at ``max_lr / div_factor``, reaches ``max_lr`` at step ``pct_start * T - 1`` and
    ends at ``initial / final_div_factor`` at step ``T - 1``; steps above ``T`` raise.
    """
    max_lr = _check_real(max_lr, "max_lr")
    total_steps = _check_count(total_steps, "total_steps")
    pct_start = _check_real(pct_start, "pct_start", 0.0, 1.0)
    if anneal_strategy not in ("cos", "linear"):
        raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
    initial = max_lr / _check_real(div_factor, "div_factor", low_open=True)
    final = initial / _check_real(final_div_factor, "final_div_factor", low_open=True)
    up = pct_start * total_steps - 1
    if three_phase:  # (end step, start lr, end lr) of each phase
        phases = [(up, initial, max_lr), (2 * pct_start * total_steps - 2, max_lr, initial),
                  (total_steps - 1, initial, final)]
    else:
        phases = [(up, initial, max_lr), (total_steps - 1, max_lr, final)]

    def schedule(step):
        t = _check_step(step)
        if t > total_steps:
            raise ValueError(f"Invalid step: {t} (one_cycle step must be <= total_steps = "
                             f"{total_steps})")
        begin = 0.0
        for i, (end, lr_a, lr_b) in enumerate(phases):
            if t <= end or i == len(phases) - 1:
                return _anneal(lr_a, lr_b, (t - begin) / (end - begin), anneal_strategy)
            begin = end
        raise AssertionError("unreachable")

    return schedule


class ReduceLROnPlateau:
    """ReduceLROnPlateau (torch.optim.lr_scheduler semantics), small and stateful.

    Call ``step(metric)`` once per epoch; after more than ``patience`` epochs without an
    improvement (mode "min", threshold_mode "rel": ``metric < best (1 - threshold)``) the rate
    becomes ``max(lr * factor, min_lr)`` and ``cooldown`` epochs follow in which bad epochs are
    not counted. ``lr`` is the current rate; the object is also a schedule (``self(step)``
    returns ``lr``), so it can be passed as ``lr`` to an optimizer.
    """

    def __init__(self, lr, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.lr = _check_real(lr, "lr")
        self.factor = _check_real(factor, "factor", 0.0, 1.0, high_open=True)
        self.patience = _check_count(patience, "patience", 0)
        self.cooldown = _check_count(cooldown, "cooldown", 0)
        self.threshold = _check_real(threshold, "threshold")
        self.min_lr = _check_real(min_lr, "min_lr")
        self.eps = _check_real(eps, "eps")
        self.mode, self.threshold_mode = mode, threshold_mode
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def __repr__(self):
        return (f"ReduceLROnPlateau(lr={self.lr}, best={self.best}, "
                f"num_bad_epochs={self.num_bad_epochs}, cooldown_counter={self.cooldown_counter})")

    def __call__(self, step):
        _check_step(step)
        return self.lr

    def is_better(self, metric):
        """min/rel: ``a < best (1 - threshold)``; min/abs: ``a < best - threshold``; max mirrors."""
        if self.mode == "min":
            bound = self.best * (1 - self.threshold) if self.threshold_mode == "rel" \
                else self.best - self.threshold
            return metric < bound
        bound = self.best * (1 + self.threshold) if self.threshold_mode == "rel" \
            else self.best + self.threshold
        return metric > bound

    def step(self, metric):
        """Record one epoch's metric; return the (possibly reduced) learning rate."""
        metric = float(metric)
        if self.is_better(metric):
            self.best, self.num_bad_epochs = metric, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:  # in cooldown: bad epochs are not counted
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            new_lr = max(self.lr * self.factor, self.min_lr)
            if self.lr - new_lr > self.eps:
                self.lr = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        return self.lr
