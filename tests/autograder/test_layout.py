"""The autograder's layout is its data path: imports go one way, and there are no cycles.

Every ``import`` of an ``autograder`` module counts, at module level or inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import autograder
from autograder.cli import VERBS, parser

PACKAGE = Path(autograder.__file__).parent

# Each part of the package, and the parts it may import. The stages (release, collect,
# grade, results, demo) never import a later one, and the read side (results) does not
# import the grading stack; verbs compose stages; cli is the table of verbs.
MAY_IMPORT = {
    "core": set(),
    "sandbox": {"core"},
    "run": {"core", "sandbox"},
    "release": {"core", "sandbox", "run"},
    "collect": {"core"},
    "grade": {"core", "sandbox", "run"},
    "results": {"core"},
    "demo": {"core"},
    "verbs": {"core", "sandbox", "run", "release", "collect", "grade", "results", "demo"},
    "cli": {"core", "verbs"},
    "__main__": {"cli"},
    "__init__": set(),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part(module: str) -> str:
    """``autograder.grade.steps`` -> ``grade``; ``autograder`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path) -> set[str]:
    """The autograder modules ``path`` imports (resolved to modules, not names)."""
    found = set()
    package = module_name(path) if path.name == "__init__.py" else \
        module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "autograder"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[:len(package.split(".")) - node.level + 1],
                                 *([base] if base else [])])
            if base.split(".")[0] != "autograder":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return {m for m in found if m in MODULES}


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))
           if "__pycache__" not in p.parts and "mistakes" not in p.parts}
GRAPH = {name: imports(path) for name, path in MODULES.items()}


def test_the_root_package_imports_nothing_so_every_part_may_read_its_version():
    assert GRAPH["autograder"] == set()


def test_every_part_has_a_rule():
    assert {part(m) for m in MODULES} <= set(MAY_IMPORT), \
        "a new part of the package: add it to MAY_IMPORT"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_follow_the_data_path(name):
    allowed = MAY_IMPORT[part(name)] | {part(name), "__init__"}  # the root holds a version
    wrong = sorted(m for m in GRAPH[name] if part(m) not in allowed)
    assert not wrong, f"{name} imports {wrong}: against the data path ({part(name)} may " \
        f"import {sorted(MAY_IMPORT[part(name)])})"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycles():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_checks_can_fail():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert part("autograder.results.load") == "results"
    assert "grade" not in MAY_IMPORT["results"]  # the read side would be flagged


def test_every_verb_has_a_handler_arguments_and_help():
    p = parser()
    sub = next(a for a in p._actions if a.dest == "verb")
    assert list(sub.choices) == list(VERBS)
    verb_modules = {m.stem for m in (PACKAGE / "verbs").glob("*.py")} - {"__init__"}
    assert set(VERBS) == verb_modules, "every module of autograder/verbs is a row of VERBS"
    for name, module in VERBS.items():
        assert callable(module.run) and callable(module.add_arguments), name
        assert module.HELP.strip(), name
        assert module.__doc__ and f"course {name}" in module.__doc__, name
        assert sub.choices[name].format_help().startswith(f"usage: course {name}"), name
