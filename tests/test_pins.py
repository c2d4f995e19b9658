"""constraints.txt (pip) and environment.yml (conda) pin the same versions."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


def normalize(name: str) -> str:
    """PEP 503 name normalisation: 'PyYAML' and 'pyyaml', 'nest_asyncio' and 'nest-asyncio'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"constraints.txt: {line!r} is not an exact pin (name==version)"
            pins[normalize(name)] = version.strip()
    return pins


def conda_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        match = re.fullmatch(r"\s+-\s+([A-Za-z0-9_.\-]+)=([^=\s]+)\s*", line)
        if match:
            pins[normalize(match.group(1))] = match.group(2)
    return pins


def direct_dependencies() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        names += extra
    return [normalize(re.split(r"[\s<>=!~\[;]", n, maxsplit=1)[0]) for n in names]


def test_constraints_are_exact_pins():
    pins = pip_pins()
    assert len(pins) > 20, "constraints.txt should pin the whole resolved set"


def test_every_direct_dependency_is_pinned_in_both_files():
    pip, conda = pip_pins(), conda_pins()
    for name in direct_dependencies():
        assert name in pip, f"{name} is a dependency in pyproject.toml but not in constraints.txt"
        assert name in conda, f"{name} is a dependency in pyproject.toml but not in environment.yml"


def test_conda_and_pip_versions_agree():
    pip, conda = pip_pins(), conda_pins()
    conda.pop("python", None)
    mismatched = {n: (v, pip.get(n)) for n, v in conda.items() if pip.get(n) != v}
    assert not mismatched, f"environment.yml vs constraints.txt (conda, pip): {mismatched}"


def test_pins_parser_sees_a_disagreement(tmp_path, monkeypatch):
    """The check above can fail: a changed version is reported."""
    fake = tmp_path / "environment.yml"
    fake.write_text("dependencies:\n  - numpy=0.0.1\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert conda_pins() == {"numpy": "0.0.1"}
