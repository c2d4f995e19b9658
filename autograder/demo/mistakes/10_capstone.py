"""Known mistakes for assignment 10_capstone (an MLP from scratch, and which optimizer to use).

Each one is applied to the solution region of its cell; the tests of that exercise must
then fail with a message containing ``named``. The ``find`` texts of one cell do not overlap
and no replacement destroys another's ``find``, so any two mistakes of a cell combine; the
hidden tests recognise single mistakes and pairs (``combined`` in the setup cell).
"""

from autograder.demo.mistakes import Mistake

MISTAKES = [
    # Exercise 1: the training loop
    Mistake(name="no-reshuffle", cell="train_mlp",
            find="order = rng.permutation(n)  # a fresh shuffle every epoch",
            replace="order = order if epoch else rng.permutation(n)",
            named="no reshuffle per epoch"),
    Mistake(name="schedule-per-epoch", cell="train_mlp",
            find="lr_t = schedule(step)", replace="lr_t = schedule(epoch)",
            named="the schedule stepped per epoch instead of per update"),
    Mistake(name="zero-init", cell="train_mlp",
            find='init="kaiming_normal")', replace='init="zeros")',
            named="zero initialisation"),
    Mistake(name="clip-after-step", cell="train_mlp",
            find=("                if max_norm is not None:  # clip the gradient before the "
                  "optimizer sees it\n"
                  "                    grads, _ = clip.clip_by_global_norm(grads, max_norm)\n"
                  "                updates, state = opt.update(grads, state, params)\n"),
            replace=("                updates, state = opt.update(grads, state, params)\n"
                     "                if max_norm is not None:  # clip after the step\n"
                     "                    updates, _ = clip.clip_by_global_norm(updates, "
                     "max_norm)\n"),
            named="clipping after the optimizer step"),
    Mistake(name="norm-after-clip", cell="train_mlp",
            find='history["grad_norm"].append(norm)',
            replace='history["grad_norm"].append(clip.global_norm(grads))',
            named="the gradient norm recorded after clipping"),
    # Exercise 2: a fair tuning procedure
    Mistake(name="choose-by-train-loss", cell="tune",
            find="np.argmin(score)", replace="np.argmin(train)",
            named="chosen by training loss"),
    Mistake(name="generator-shared", cell="tune",
            find="rng = np.random.default_rng(seed)  # the same start and shuffles for every run",
            replace="rng = rng if i + j else np.random.default_rng(seed)",
            named="one generator shared by all runs"),
    Mistake(name="state-carried-over", cell="tune",
            find="rng, weight_decay=wd,",
            replace="rng, params=params if i + j else None, weight_decay=wd,",
            named="the state of the previous run carried over"),
    Mistake(name="diverged-run-chosen", cell="tune",
            find="score = np.where(np.isfinite(val), val, np.inf)", replace="score = val",
            named="a diverged run (nan validation loss) chosen"),
    # Exercise 3: the inverse question on the schedule
    Mistake(name="last-batch-forgotten", cell="first_update_below",
            find="-(-int(n) // int(batch_size))", replace="(int(n) // int(batch_size))",
            named="the last, smaller batch forgotten"),
    Mistake(name="counted-after-warmup", cell="first_update_below",
            find="t = warmup + int(", replace="t = int(",
            named="counted from the end of the warm-up"),
    Mistake(name="cosine-over-all-updates", cell="first_update_below",
            find="(total - warmup) * s", replace="total * s",
            named="the cosine spread over all T updates"),
    Mistake(name="rounded-not-up", cell="first_update_below",
            find="np.ceil(", replace="np.round(",
            named="rounded to the nearest update instead of rounded up"),
    Mistake(name="cosine-inverted", cell="first_update_below",
            find="np.arccos(2 * fraction - 1)", replace="np.arccos(1 - 2 * fraction)",
            named="the cosine inverted the wrong way"),
]

MIN_MISTAKES = 14

# The written answer's model text must not reach students.
RELEASE_SECRETS = ("Model answer",)

# A scratch cell the student edits freely (the figures of Exercise 4): no nbgrader metadata.
SCRATCH_CELLS = ("ex4-figures",)
