"""A real JupyterLab and a real Chromium for the browser tests.

The session starts JupyterLab the way `make lab` does (on a free loopback port, with a
token) on a scratch copy of the course, drives Debian's Chromium with Playwright, and stops
JupyterLab at the end whatever happened. Screenshots go to out/screenshots/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.core.course import copy_config

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "out" / "screenshots"
BIN = Path(sys.executable).parent
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic",
]
# JupyterLab's news pop-up would cover the page in every screenshot.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    # Render every cell (no virtual scrolling) so the tests can find any cell in the DOM.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"JupyterLab did not listen on port {port} within {timeout} s")


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        message = ("Debian's chromium is not installed (`apt-get install chromium`; `make test` "
                   "installs it when run as root)")
        if os.environ.get("COURSE_SKIP_BROWSER") == "1":
            pytest.skip(message + "; skipped because COURSE_SKIP_BROWSER=1")
        pytest.fail(message + "; set COURSE_SKIP_BROWSER=1 to skip the browser tests on purpose")
    return path


@pytest.fixture(scope="session")
def course_dir(tmp_path_factory) -> Path:
    """A scratch copy of the course with every assignment released, as an instructor has it."""
    course = tmp_path_factory.mktemp("course")
    for name in ("notebooks", "source"):
        shutil.copytree(ROOT / name, course / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    copy_config(ROOT, course)  # with a SQLite gradebook of its own
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for assignment in sorted(p.name for p in (course / "source").iterdir() if p.is_dir()):
        subprocess.run([str(BIN / "nbgrader"), "generate_assignment", assignment, "--force"],
                       cwd=course, env=env, check=True, capture_output=True, text=True,
                       timeout=300)
    return course


@pytest.fixture(scope="session")
def lab(course_dir, tmp_path_factory):
    """Base URL and token of a JupyterLab serving the course copy; stopped at the end."""
    settings = tmp_path_factory.mktemp("lab-settings")
    for name, values in LAB_SETTINGS.items():
        target = settings / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    port, token = free_port(), "course-browser-test"
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_STATIC_WIDGETS", "MPLBACKEND")}
    # Settings, workspaces and config of their own: nothing from (or left in) the user's home.
    env.update(JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path_factory.mktemp("lab-workspaces")),
               JUPYTER_CONFIG_DIR=str(tmp_path_factory.mktemp("jupyter-config")),
               PYDEVD_DISABLE_FILE_VALIDATION="1",
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = [str(BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", "--expose-app-in-browser",
           f"--ServerApp.root_dir={course_dir}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp_path_factory.mktemp("lab-log") / "lab.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=course_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_for_port(port, proc)
        yield {"url": f"http://127.0.0.1:{port}", "token": token}
    finally:
        stop_process_group(proc)
        log.close()


def stop_process_group(proc: subprocess.Popen) -> None:
    """Stop JupyterLab and every kernel it started."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's outcome so the `page` fixture can picture a failure."""
    outcome = yield
    setattr(item, f"rep_{call.when}", outcome.get_result())


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(90_000)
    try:
        yield page
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            screenshot(page, f"FAILED-{request.node.name}")
    finally:
        context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
