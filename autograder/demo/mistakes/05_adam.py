"""Known mistakes for assignment 05_adam (Adam, bias correction, AdamW, AMSGrad).

Each one is applied to the solution region of its cell; the tests of that exercise must
then fail with a message containing ``named``. The ``find`` texts of one cell do not overlap,
so any two of a cell's mistakes apply together, and the tests name both.
"""

from autograder.demo.mistakes import Mistake

MISTAKES = [
    # Exercise 1: one Adam step
    Mistake(
        name="no-bias-correction",
        cell="adam_step",
        find="w_new = w - lr * m_hat / (np.sqrt(v_hat)",
        replace="w_new = w - lr * m_new / (np.sqrt(v_new)",
        named="Adam without bias correction",
    ),
    Mistake(
        name="t-counted-twice",
        cell="adam_step",
        find="t_new = int(t) + 1",
        replace="t = int(t) + 1\n    t_new = t + 1",
        named="advanced twice per step",
    ),
    Mistake(
        name="eps-inside-sqrt",
        cell="adam_step",
        find=") + eps)",
        replace=" + eps))",
        named="epsilon inside the square root",
    ),
    Mistake(
        name="state-mutated-in-place",
        cell="adam_step",
        find="m_new = beta1 * m + (1 - beta1) * g",
        replace="m *= beta1\n    m += (1 - beta1) * g\n    m_new = m",
        named="changed its input `state m` in place",
    ),
    # Exercise 2a: the Monte Carlo experiment
    Mistake(
        name="experiment-counts-from-0",
        cell="bias_correction_experiment",
        find="m = beta * m + (1 - beta) * g[:, t]  # m_{t+1} of every run\n"
             "        means[t] = m.mean()",
        replace="means[t] = m.mean()\n        m = beta * m + (1 - beta) * g[:, t]",
        named="counted from 0",
    ),
    Mistake(
        name="experiment-returns-corrected-mean",
        cell="bias_correction_experiment",
        find="return means",
        replace="return means / (1 - beta ** np.arange(1, steps + 1))",
        named="bias-corrected mean",
    ),
    # Exercise 2b: the inverse question
    Mistake(
        name="unbiased-one-step-short",
        cell="steps_until_unbiased",
        find="while beta**t > tol:",
        replace="while beta ** (t + 1) > tol:",
        named="one step short",
    ),
    # Exercise 3: the three bugs, each left in place
    Mistake(
        name="fix-keeps-writeback",
        cell="adam_fixed",
        find="w = w - lr * m_hat / (np.sqrt(v_hat) + eps)",
        replace="m, v = m_hat, v_hat\n        w = w - lr * m / (np.sqrt(v) + eps)",
        named="written back into m and v",
    ),
    Mistake(
        name="fix-keeps-one-minus-beta",
        cell="adam_fixed",
        find="m_hat = m / (1 - beta1**t)",
        replace="m_hat = m / (1 - beta1)",
        named="divided by (1 - beta1) instead of (1 - beta1^t)",
    ),
    Mistake(
        name="fix-keeps-beta1-in-v",
        cell="adam_fixed",
        find="v_hat = v / (1 - beta2**t)",
        replace="v_hat = v / (1 - beta1**t)",
        named="corrected with beta1 instead of beta2",
    ),
    # Exercise 4: AdamW and Adam + L2
    Mistake(
        name="adamw-l2-in-gradient",
        cell="adamw_step",
        find="m_new = beta1 * m + (1 - beta1) * g",
        replace="g = g + weight_decay * w\n    m_new = beta1 * m + (1 - beta1) * g",
        named="L2 penalty added to the gradient",
    ),
    Mistake(
        name="adamw-decay-without-lr",
        cell="adamw_step",
        find="decay = lr * weight_decay",
        replace="decay = weight_decay",
        named="not multiplied by the learning rate",
    ),
    Mistake(
        name="adam-l2-decoupled",
        cell="adam_l2_step",
        find="g = g + weight_decay * w  # the penalty enters the gradient, so m and v see it too",
        replace="w = w * (1 - lr * weight_decay)",
        named="that is AdamW",
    ),
    Mistake(
        name="case-large-weight",
        cell="differing_case",
        find="np.array([1.0, 0.05])",
        replace="np.array([1.0, 1.0])",
        named="so that weight must be small",
    ),
    Mistake(
        name="case-gradient-in-coordinate-0",
        cell="differing_case",
        find="np.array([0.0, 10.0])",
        replace="np.array([0.5, 10.0])",
        named="how far can a penalty move a weight",
    ),
    # Exercise 5: the counterexample
    Mistake(
        name="amsgrad-max-of-corrected",
        cell="run_counterexample",
        find='v_max = max(v_max, v)\n'
             '        v_hat = (v_max if optimizer == "amsgrad" else v) / (1 - beta2**t)',
        replace='v_hat = v / (1 - beta2**t)\n'
                '        v_max = max(v_max, v_hat)\n'
                '        v_hat = v_max if optimizer == "amsgrad" else v_hat',
        named="maximum over the bias-corrected v_hat",
    ),
    Mistake(
        name="counterexample-missing-sqrt",
        cell="run_counterexample",
        find="(np.sqrt(v_hat) + 1e-8)",
        replace="(v_hat + 1e-8)",
        named="no square root",
    ),
    Mistake(
        name="counterexample-no-projection",
        cell="run_counterexample",
        find="        x = min(max(x, -1.0), 1.0)\n",
        replace="",
        named="projection onto [-1, 1] is missing",
    ),
    # Exercise 6a: the prediction
    Mistake(
        name="first-step-ignores-eps",
        cell="predict_first_step",
        find="return 0.01 * np.sqrt(2 + 1 / 1.01**2 + 1 / 9)",
        replace="return 0.01 * 2.0",
        named="epsilon ignored",
    ),
]
