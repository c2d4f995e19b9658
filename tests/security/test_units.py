"""Fast tests of the pieces: plain-data codec, recorder and replayer, phase B's plan, the leak
check, the sandbox's command line and ``course doctor``'s verdict logic."""

from __future__ import annotations

import json
from collections import namedtuple

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redteam import FIXTURES

from autograder import notebooks as nbk
from autograder import replay, sandbox, verify
from autograder.execute import Limits
from autograder.feedback import LeakError, check_no_leak

SOURCE = FIXTURES / "course" / "source" / "ps1" / "ps1.ipynb"
Pair = namedtuple("Pair", "w v")


def roundtrip(x):
    return replay.dec(json.loads(json.dumps(replay.enc(x))))


@pytest.mark.parametrize("value", [
    None, True, 3, 2**80, -0.0, float("inf"), float("nan"), 1 + 2j, "text",
    np.float64(0.1), np.int32(-7), np.bool_(True),
    np.arange(6, dtype=np.float32).reshape(2, 3), np.array([], dtype=np.int64),
    [1, (2.0, "a")], {"a": np.ones(2), 3: [None]}, Pair(np.zeros(1), 2.5),
])
def test_plain_data_roundtrips_with_its_exact_type(value):
    got = roundtrip(value)
    assert type(got) is type(value) or (isinstance(value, tuple) and got._fields == value._fields)
    if isinstance(value, np.ndarray):
        assert got.dtype == value.dtype and got.shape == value.shape
        np.testing.assert_array_equal(got, value)
    elif isinstance(value, float) and value != value:
        assert got != got
    elif not isinstance(value, (dict, tuple, list)):
        assert got == value


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(allow_nan=False), max_size=20))
def test_float_arrays_roundtrip_bit_for_bit(values):
    a = np.array(values, dtype=float)
    assert roundtrip(a).tobytes() == a.tobytes()


class Liar(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


@pytest.mark.parametrize("value", [
    Liar(1.0), np.array([1, "a"], dtype=object), np.ma.masked_array([1.0]), object(),
    lambda x: x, [1, object()],
])
def test_anything_else_is_not_plain_data(value):
    with pytest.raises(replay.NotPlain):
        replay.enc(value)
    assert replay.ret_enc(value)["~"] == "opaque"


def test_an_opaque_value_fails_on_any_use():
    fake = replay.Opaque("Liar")
    for use in (lambda: fake == 1, lambda: float(fake), lambda: np.asarray(fake, dtype=float),
                lambda: bool(fake), lambda: fake.shape):
        with pytest.raises(replay.ReplayMismatch):
            use()


def test_decoding_never_builds_anything_but_data():
    with pytest.raises(ValueError):
        replay.dec({"~": "nd", "dtype": "|O", "shape": [1], "v": ""})
    with pytest.raises((ValueError, AttributeError)):
        replay.dec({"~": "rng", "bitgen": "Generator", "state": {}})
    with pytest.raises(ValueError):
        replay.dec({"~": "pickle", "v": "gASV"})


def record_calls(tmp_path, fn, calls):
    """Run ``calls(wrapped)`` under a recorder; the recording's lines."""
    path = tmp_path / "rec.jsonl"
    rec = replay.Recorder(str(path), lambda: 7)
    ns = {"f": fn}
    rec.after_cell(ns, ["f"], 3)
    calls(ns["f"])
    return path.read_text().splitlines()


def replayed(lines):
    book = replay.Book(lines)
    book.cell = 7
    return replay.replayer(book, "f")


def test_replay_returns_the_recorded_values_and_replays_mutation(tmp_path):
    def f(w, lr):
        w -= lr  # in place, on purpose
        return w.sum()

    lines = record_calls(tmp_path, f, lambda g: g(np.array([1.0, 2.0]), 0.5))
    w = np.array([1.0, 2.0])
    out = replayed(lines)(w, 0.5)
    assert out == 2.0 and type(out) is np.float64
    np.testing.assert_array_equal(w, [0.5, 1.5])


def test_replay_rejects_other_arguments_and_extra_calls(tmp_path):
    lines = record_calls(tmp_path, lambda x: 2 * x, lambda g: g(1.0))
    f = replayed(lines)
    with pytest.raises(replay.ReplayMismatch, match="different arguments"):
        f(2.0)
    f = replayed(lines)
    assert f(1.0) == 2.0
    with pytest.raises(replay.ReplayMismatch, match="not called"):
        f(1.0)


def test_replay_reraises_the_builtin_exception(tmp_path):
    class MyError(ValueError):
        pass

    def f(lr):
        raise MyError(f"Invalid learning rate: {lr}")

    def calls(g):
        with pytest.raises(MyError):
            g(-1.0)

    with pytest.raises(ValueError, match="Invalid learning rate: -1.0"):
        replayed(record_calls(tmp_path, f, calls))(-1.0)


def test_replay_reraises_linalg_error_as_itself(tmp_path):
    # a test that catches np.linalg.LinAlgError (a singular Hessian) must see that class in
    # the check too, not its builtin base ValueError
    def f(h):
        return np.linalg.solve(h, np.ones(2))

    def calls(g):
        with pytest.raises(np.linalg.LinAlgError):
            g(np.zeros((2, 2)))

    with pytest.raises(np.linalg.LinAlgError, match="Singular matrix"):
        replayed(record_calls(tmp_path, f, calls))(np.zeros((2, 2)))
    assert replay.exc_class("LinAlgError") is Exception  # only the qualified name is known
    assert replay.exc_class("os.system") is Exception


def test_replay_calls_the_given_function_and_checks_its_results(tmp_path):
    def gd(df, x0, steps):
        x = x0
        for _ in range(steps):
            x = x - 0.1 * df(x)
        return x

    lines = record_calls(tmp_path, gd, lambda g: g(lambda x: 2 * x, 1.0, 3))
    seen = []
    assert replayed(lines)(lambda x: seen.append(x) or 2 * x, 1.0, 3) == pytest.approx(0.512)
    assert seen == pytest.approx([1.0, 0.8, 0.64])
    with pytest.raises(replay.ReplayMismatch, match="returned something different"):
        replayed(lines)(lambda x: 3 * x, 1.0, 3)


def last_bits(a: np.ndarray, ulps: int = 3) -> np.ndarray:
    """``a`` with each element moved by a few units in the last place (honest rounding)."""
    out = a.copy()
    for _ in range(ulps):
        out = np.nextafter(out, np.inf)
    return out


def sig(x):
    return replay.arg_sig(x)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30),
       st.integers(0, 40))
def test_differs_accepts_honest_rounding_and_no_real_difference(values, where):
    a = np.array(values)
    assert replay.differs(sig(a), sig(last_bits(a))) is None
    assert replay.differs(sig(a), sig(a.copy())) is None
    scale = max(float(np.abs(a).max()), 1.0)
    b = a.copy()
    b[where % len(a)] += 1e-9 * scale  # far beyond rounding, far below a test's tolerance
    why = replay.differs(sig(a), sig(b), "argument 0")
    assert why is not None and why.startswith("argument 0") and "element [" in why, why


def test_differs_is_exact_for_structure_types_integers_and_strings():
    d = replay.differs
    x = np.linspace(0.0, 1.0, 6).reshape(2, 3)
    assert d(sig(x), sig(x.reshape(3, 2))).startswith("value: shape")
    assert d(sig(x), sig(x.astype(np.float32))).startswith("value: dtype")
    assert d(sig(np.arange(3)), sig(np.array([0, 1, 3])))  # integers: exact
    assert d(sig(3), sig(4)) and d(sig(1), sig(1.0)) and d(sig(True), sig(1))
    assert d(sig("sgd"), sig("sgd ")) and d(sig([1.0, 2.0]), sig([1.0, 2.0, 3.0]))
    assert d(sig((1.0,)), sig([1.0])) and d(sig({"a": 1.0}), sig({"b": 1.0}))
    assert d(sig(np.array([np.nan, 1.0])), sig(np.array([1.0, np.nan])))
    assert d(sig(np.array([np.inf])), sig(np.array([-np.inf])))
    assert d(sig(np.array([np.nan, np.inf])), sig(np.array([np.nan, np.inf]))) is None
    assert d(sig(lambda v: v), sig(abs)) is None  # callables: compared by kind only
    assert d(sig(0.1), sig(0.1 + 1e-17)) is None and d(sig(0.1), sig(0.1 + 1e-9))
    assert d(sig(1 + 2j), sig(1 + 2j + 1e-16)) is None and d(sig(1 + 2j), sig(1 + 2.1j))
    rng = np.random.default_rng(0)
    assert d(sig(rng), sig(np.random.default_rng(1)))  # generator states: exact
    # an entry that cancels to nearly zero carries rounding relative to the array's scale
    assert d(sig(np.array([3.0, 1e-17])), sig(np.array([3.0, -2e-17]))) is None


def test_replay_accepts_arguments_that_differ_by_rounding_and_names_a_real_difference(
        tmp_path):
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    h = q @ np.diag([1.0, 2.0, 5.0, 9.0]) @ q.T
    lines = record_calls(tmp_path, lambda a, lr: np.linalg.eigvalsh(a).max() * lr,
                         lambda g: g(h, lr=0.1))
    got = replayed(lines)(last_bits(h), lr=0.1)  # another BLAS kernel rounded Q D Q^T
    assert got == pytest.approx(0.9)
    other = h.copy()
    other[1, 2] += 1e-6
    book = replay.Book(lines)
    book.cell = 7
    with pytest.raises(replay.ReplayMismatch, match="different arguments") as err:
        replay.replayer(book, "f")(other, lr=0.1)
    assert "element [1, 2]" in err.value.evidence and "argument 0" in err.value.evidence
    assert book.evidence == [f"cell [7], call 1 of f(): {err.value.evidence}"]
    with pytest.raises(replay.ReplayMismatch, match="different arguments") as err:
        replayed(lines)(h, lr=0.2)
    assert err.value.evidence.startswith("argument lr: 0.10000000000000001 in the kernel, "
                                         "0.20000000000000001 in the check")


def test_a_recording_without_arguments_is_compared_exactly(tmp_path):
    lines = record_calls(tmp_path, lambda x: 2 * x, lambda g: g(np.ones(3)))
    call = json.loads(lines[-1])
    assert call["args"] == replay.signature((np.ones(3),), {})
    del call["args"]  # too large to keep (ARGS_CAP), or removed by the student
    stripped = [*lines[:-1], json.dumps(call)]
    np.testing.assert_array_equal(replayed(stripped)(np.ones(3)), 2 * np.ones(3))
    with pytest.raises(replay.ReplayMismatch, match="different arguments"):
        replayed(stripped)(last_bits(np.ones(3)))


def test_callback_results_are_compared_up_to_rounding(tmp_path):
    a = np.array([[2.0, 0.3], [0.3, 1.0]])

    def gd(grad, x0):
        return x0 - 0.1 * grad(x0)

    lines = record_calls(tmp_path, gd, lambda g: g(lambda x: a @ x, np.ones(2)))
    assert replayed(lines)(lambda x: last_bits(a @ x), np.ones(2)).shape == (2,)
    with pytest.raises(replay.ReplayMismatch, match="returned something different") as err:
        replayed(lines)(lambda x: a @ x + 1e-6, np.ones(2))
    assert "argument 0 returned" in err.value.evidence


def test_replay_materialises_generators_and_keeps_rng_state(tmp_path):
    def batches(n, rng):
        for i in rng.permutation(n):
            yield int(i)

    lines = record_calls(tmp_path, batches, lambda g: list(g(4, np.random.default_rng(0))))
    rng = np.random.default_rng(0)
    got = replayed(lines)(4, rng)
    assert list(got) == list(np.random.default_rng(0).permutation(4))
    after = np.random.default_rng(0)
    after.permutation(4)
    assert rng.random() == after.random()


def test_plan_runs_instructor_cells_from_the_source_never_the_submission():
    source = nbk.read(SOURCE)
    sub = nbformat.from_dict(json.loads(nbformat.writes(source)))
    test = nbk.cell_by_id(sub, "test_squares")
    test.source = "pass  # rewritten by the student"
    for i, cell in enumerate(sub.cells):
        cell["execution_count"] = i + 1 if cell.cell_type == "code" else None
    sub.cells.insert(1, nbformat.v4.new_code_cell("print('added')", execution_count=99))
    sub.cells.append(nbformat.v4.new_code_cell("print('after the last test')",
                                               execution_count=100))
    steps = verify.plan(source, sub)
    run = {s["gid"]: s for s in steps if s["kind"] == "run"}
    assert run["test_squares"]["source"] == nbk.cell_by_id(source, "test_squares").source
    assert run["test_squares"]["test"] and not run["imports"]["test"]
    assert {"kind": "student", "cell": 99} in steps
    assert steps[-1]["gid"] == "test_ema_step"  # nothing after the last test runs
    assert sum(s["kind"] == "student" for s in steps) == 4  # three solutions + the added cell


def test_plan_ends_with_the_last_test_that_passed_in_the_kernel():
    source = nbk.read(SOURCE)
    sub = nbformat.from_dict(json.loads(nbformat.writes(source)))
    for i, cell in enumerate(sub.cells):
        cell["execution_count"] = i + 1 if cell.cell_type == "code" else None
    tests = [nbk.grade_id(c) for c in sub.cells if nbk.is_test(c)]
    failed = nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=[])
    nbk.cell_by_id(sub, tests[-1]).outputs = [failed]
    assert [s["gid"] for s in verify.plan(source, sub) if s.get("test")] == tests[:-1]
    for gid in tests:
        nbk.cell_by_id(sub, gid).outputs = [failed]
    assert verify.plan(source, sub) == []  # nothing to confirm


def test_defined_names_finds_functions_and_assignments():
    assert verify.defined_names("import numpy as np\ndef f(x):\n    y = 1\na, (b, c) = 1, (2, 3)\n"
                                "%matplotlib inline\nclass K: pass") == ["f", "a", "b", "c", "K"]
    assert verify.defined_names("def broken(:") == []


def test_apply_verdict_fails_only_what_passed_in_the_kernel_but_not_independently():
    nb = nbk.read(SOURCE)
    for cell in nb.cells:
        cell["outputs"] = [] if cell.cell_type == "code" else cell.get("outputs")
    nbk.cell_by_id(nb, "test_gd_step").outputs = [nbformat.v4.new_output(
        "error", ename="AssertionError", evalue="wrong", traceback=[])]
    reasons, flagged = verify.apply_verdict(nb, {"verdict": {
        "test_squares": {"passed": False, "error": "AssertionError: x",
                         "evidence": ["cell [5], call 1 of squares(): argument 0 ..."]},
        "test_gd_step": {"passed": False, "error": "AssertionError: y"},
        "test_ema_step": {"passed": True, "error": ""}}})
    outputs = nbk.cell_by_id(nb, "test_squares").outputs
    assert [o.ename for o in outputs] == [verify.UNCONFIRMED]
    assert outputs[0].evalue == verify.UNCONFIRMED_MESSAGE  # no details for the student
    assert "could not be confirmed by an independent re-run" in outputs[0].evalue
    assert "instructor has been told" in outputs[0].evalue
    assert len(nbk.cell_by_id(nb, "test_gd_step").outputs) == 1
    assert nbk.cell_by_id(nb, "test_ema_step").outputs == []
    assert reasons == [f"{verify.FLAGGED}: test_squares passed in the kernel but could not be "
                       "confirmed; the instructor has been told"]
    assert "tamper" not in " ".join(reasons).lower()
    assert flagged == [{"test": "test_squares", "error": "AssertionError: x",
                        "evidence": ["cell [5], call 1 of squares(): argument 0 ..."]}]


def test_leak_check_catches_plain_and_escaped_hidden_lines():
    hidden = {"_hidden_w = np.array([2.0, -1.0])"}
    check_no_leak("<p>nothing</p>", hidden, "page")
    for text in ("x _hidden_w = np.array([2.0, -1.0]) y",
                 "_hidden_w = np.array([2.0, -1.0])".replace("_", "&#95;")):
        with pytest.raises(LeakError):
            check_no_leak(text, hidden, "page")


def test_bwrap_command_hides_the_course_and_has_no_network(tmp_path):
    if sandbox.bwrap() is None:
        pytest.skip("bubblewrap is not installed")
    args = sandbox.bwrap_args([tmp_path], cwd=tmp_path)
    assert args[-1] == "--"
    for flag in ("--unshare-all", "--die-with-parent", "--new-session", "--cap-drop"):
        assert flag in args
    binds = [args[i + 1] for i, a in enumerate(args) if a in ("--bind", "--ro-bind")]
    writable = [args[i + 1] for i, a in enumerate(args) if a == "--bind"]
    assert writable == [str(tmp_path)]
    repo = FIXTURES.parents[2]
    assert str(repo) not in binds and not any(b in str(repo / "source") for b in binds
                                              if b.startswith(str(repo)) and "course_lib" not in b
                                              and ".venv" not in b)


def test_limits_reject_negative_values():
    with pytest.raises(ValueError, match="Invalid disk_mb"):
        Limits(disk_mb=-1)
    assert not Limits().sandbox and not Limits().verify  # release/validate: trusted or local


def test_phase_b_binds_only_the_expected_names_and_judges_on_data():
    forged = [json.dumps({"kind": "def", "cell": 1, "name": n}) for n in ("abs", "squares")]
    call = {"kind": "call", "cell": 2, "name": "squares", "callbacks": [], "after": {},
            "digest": replay.digest((np.array([3.0]),), {}), "return": replay.enc(np.array([9.0]))}
    forged += [json.dumps(call), json.dumps({"kind": "call", "cell": 2, "name": "abs",
                                             "digest": replay.digest((-2,), {}), "return": 5})]
    steps = [{"kind": "run", "gid": "imports", "source": "import numpy as np", "cell": 0,
              "test": False},
             {"kind": "student", "cell": 1},
             {"kind": "run", "gid": "test_squares", "cell": 2, "test": True,
              "source": "assert np.allclose(squares(np.array([3.0])), [9.0])\nassert abs(-2) == 2"},
             {"kind": "run", "gid": "test_again", "cell": 3, "test": True,
              "source": "assert np.allclose(squares(np.array([3.0])), [9.0])"}]
    check = verify.run_check(steps, forged, timeout=120, sandboxed=False, names=["squares"])
    assert check["verdict"]["test_squares"] == {"passed": True, "error": "", "evidence": []}
    assert not check["verdict"]["test_again"]["passed"]  # no recorded call in that cell
    assert "not called here" in check["verdict"]["test_again"]["error"]
    assert check["verdict"]["test_again"]["evidence"] == [
        "cell [3], call 1 of squares(): squares() was called here but not in this cell of "
        "the kernel's run"]
