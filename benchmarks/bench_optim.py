"""Time per update of each optimizer in course_lib.optim for 10^6 float64 parameters.

The baseline is what numpy needs to read two such arrays and write a third once
(``np.add(a, b, out=c)``); an update that streams through k arrays costs roughly k/3 of
that unit, plus what it allocates. The last column is the peak of newly allocated memory
during one step (update + apply_updates), in units of one parameter array (8 n bytes),
measured with tracemalloc, which numpy reports its buffers to: it counts the new state
buffers, the update and the new parameters, plus any temporaries that were alive at once.
Timings on a shared machine are noisy; the best of several runs is shown.

Every update returns fresh arrays (the state is immutable), so the allocator matters: glibc
hands large freed blocks back to the operating system, and the next step pays page faults on
fresh memory. To see the arithmetic alone, keep freed memory in the process, e.g.
``MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_MMAP_THRESHOLD_=4294967296 python ...``.

Run: ``python benchmarks/bench_optim.py [n]``.
"""

from __future__ import annotations

import sys
import timeit
import tracemalloc

import numpy as np

from course_lib import clip, optim

OPTIMIZERS = {
    "gd": lambda: optim.gd(1e-3),
    "sgd momentum": lambda: optim.sgd(1e-3, momentum=0.9),
    "sgd nesterov + wd": lambda: optim.sgd(1e-3, momentum=0.9, nesterov=True, weight_decay=1e-4),
    "momentum_ema": lambda: optim.momentum_ema(1e-3),
    "nesterov_lookahead": lambda: optim.nesterov_lookahead(1e-3),
    "adagrad": lambda: optim.adagrad(),
    "rmsprop": lambda: optim.rmsprop(),
    "rmsprop centered+mom": lambda: optim.rmsprop(centered=True, momentum=0.9),
    "adadelta": lambda: optim.adadelta(),
    "adam": lambda: optim.adam(),
    "adam amsgrad": lambda: optim.adam(amsgrad=True),
    "adamw": lambda: optim.adamw(),
    "clip global norm + adam": lambda: optim.chain(clip.clip_by_global_norm_transform(1.0),
                                                   optim.adam()),
}


def best_time(fn, repeat=5, number=5):
    """Best mean time of ``number`` calls over ``repeat`` runs, in seconds."""
    return min(timeit.repeat(fn, repeat=repeat, number=number)) / number


def peak_arrays(fn, n):
    """Peak newly allocated memory while ``fn()`` runs, in arrays of n float64."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - before) / (8 * n)


def main(n=1_000_000):
    rng = np.random.default_rng(0)
    params, grads = rng.normal(size=n), rng.normal(size=n)
    out = np.empty(n)
    base = best_time(lambda: np.add(params, grads, out=out))
    print(f"n = {n:,} float64 parameters; baseline np.add(a, b, out=c) = {base * 1e3:.3f} ms")
    print(f"{'optimizer':<26}{'ms / step':>10}{'x baseline':>12}{'peak new arrays':>17}")
    print(f"{'np.add(a, b, out=c)':<26}{base * 1e3:>10.3f}{1.0:>12.1f}"
          f"{peak_arrays(lambda: np.add(params, grads, out=out), n):>17.1f}")
    t = best_time(lambda: params + grads)
    print(f"{'a + b (allocates)':<26}{t * 1e3:>10.3f}{t / base:>12.1f}"
          f"{peak_arrays(lambda: params + grads, n):>17.1f}")
    for name, make in OPTIMIZERS.items():
        opt = make()
        state = opt.init(params)
        _, state = opt.update(grads, state, params)  # buffers past their first step

        def step(opt=opt, state=state):
            updates, _ = opt.update(grads, state, params)
            return optim.apply_updates(params, updates)

        t = best_time(step)
        print(f"{name:<26}{t * 1e3:>10.3f}{t / base:>12.1f}{peak_arrays(step, n):>17.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
