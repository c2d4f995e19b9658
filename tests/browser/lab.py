"""Small helpers that drive JupyterLab's own command and model APIs from Playwright.

JupyterLab is started with --expose-app-in-browser, so `window.jupyterapp` is the running
application: commands are the ones a user triggers from the menus, and the notebook model is
what the user sees.
"""

from __future__ import annotations

import time
from urllib.parse import quote

CURRENT = "window.jupyterapp.shell.currentWidget"

KERNEL_IDLE = f"""() => {{
  const nb = {CURRENT};
  const kernel = nb && nb.sessionContext && nb.sessionContext.session
                 && nb.sessionContext.session.kernel;
  return Boolean(kernel) && kernel.status === 'idle';
}}"""

# Code cells of the current notebook: [execution count, output types, error texts].
CELL_STATES = f"""() => {{
  const nb = {CURRENT};
  if (!nb || !nb.content || !nb.sessionContext.session) return null;
  const kernel = nb.sessionContext.session.kernel;
  const cells = nb.content.widgets.map(c => {{
    if (c.model.type !== 'code') return null;
    const outs = c.model.outputs.toJSON();
    return {{
      count: c.model.executionCount,
      running: c.promptNode ? c.promptNode.textContent.includes('*') : false,
      errors: outs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
      stderr: outs.filter(o => o.output_type === 'stream' && o.name === 'stderr')
                  .map(o => o.text),
    }};
  }});
  return {{kernel: kernel ? kernel.status : 'none', cells: cells}};
}}"""


def open_notebook(page, lab: dict, path: str) -> None:
    """Open a notebook in JupyterLab and wait until its kernel is ready."""
    page.goto(f"{lab['url']}/lab/tree/{quote(path)}?reset&token={lab['token']}")
    page.wait_for_function("window.jupyterapp !== undefined")
    page.wait_for_function(
        f"""(p) => {{ const nb = {CURRENT};
                     return nb && nb.context && nb.context.path === p && nb.content
                            && nb.content.widgets.length > 0; }}""",
        arg=path,
    )
    page.wait_for_function(KERNEL_IDLE)


def command(page, name: str, args: dict | None = None) -> None:
    page.evaluate("([n, a]) => window.jupyterapp.commands.execute(n, a || {})", [name, args])


def cell_states(page) -> dict:
    return page.evaluate(CELL_STATES)


def wait_until_executed(page, indices, timeout: float = 120) -> dict:
    """Wait until the given code cells ran (or one failed) and the kernel is idle."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = cell_states(page)
        cells = [state["cells"][i] for i in indices]
        failed = any(c["errors"] for c in cells)
        done = all(c["count"] is not None and not c["running"] for c in cells)
        if state["kernel"] == "idle" and (done or failed):
            return state
        time.sleep(0.25)
    raise TimeoutError(f"cells {list(indices)} did not finish within {timeout} s")


def run_all(page, timeout: float = 180) -> dict:
    """Run all cells, as Run > Run All Cells does, and wait for the last one."""
    state = cell_states(page)
    code_cells = [i for i, c in enumerate(state["cells"]) if c is not None]
    command(page, "notebook:run-all-cells")
    return wait_until_executed(page, code_cells, timeout)


def grade_id_index(page, grade_id: str) -> int:
    """Index of the cell whose nbgrader grade_id is `grade_id`."""
    index = page.evaluate(
        f"""(gid) => {CURRENT}.content.widgets.findIndex(
            c => ((c.model.getMetadata('nbgrader') || {{}}).grade_id) === gid)""",
        grade_id,
    )
    assert index >= 0, f"no cell with grade_id {grade_id!r} in the open notebook"
    return index


def select_cell(page, index: int) -> None:
    page.evaluate(f"(i) => {{ {CURRENT}.content.activeCellIndex = i; }}", index)


def scroll_to(page, index: int) -> None:
    page.evaluate(f"(i) => {CURRENT}.content.widgets[i].node.scrollIntoView({{block: 'center'}})",
                  index)


def output_text(page, index: int) -> str:
    """What the student sees in a cell's output area, scrolled so its last line shows."""
    return page.evaluate(
        f"""(i) => {{ const out = {CURRENT}.content.widgets[i].node
                                 .querySelector('.jp-OutputArea');
                     if (!out) return '';
                     out.scrollIntoView({{block: 'end'}});
                     return out.innerText; }}""",
        index,
    )


def type_into_cell(page, index: int, text: str) -> None:
    """Replace a cell's text the way a student does: click in, select all, type (paste)."""
    select_cell(page, index)
    scroll_to(page, index)
    page.evaluate(
        f"""(i) => {{ const nb = {CURRENT}.content; nb.mode = 'edit';
                     nb.widgets[i].editor.focus(); }}""",
        index,
    )
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)
    page.keyboard.press("Escape")
    typed = page.evaluate(f"(i) => {CURRENT}.content.widgets[i].model.sharedModel.getSource()",
                          index)
    assert typed.strip() == text.strip(), "the editor did not receive the text as typed"


def run_cells(page, indices, timeout: float = 120) -> dict:
    """Run the given cells one after the other with Shift+Enter semantics."""
    for index in indices:
        select_cell(page, index)
        command(page, "notebook:run-cell")
        wait_until_executed(page, [index], timeout)
    return cell_states(page)
