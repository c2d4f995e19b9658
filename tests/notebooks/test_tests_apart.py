"""Running the tests apart from the student's code changes no verdict, on every assignment.

``course grade`` runs the student's cells in the sandboxed kernel (whose ``course_lib`` lacks
the withheld names) and every test cell in the trusted process, which calls the student's
functions over plain data. The harness runs the same notebook the way nbgrader always has:
every cell in one namespace, hidden tests next to the student's code (``course_harness.run``).
For a small seeded class of each assignment (the solution, and a student who makes two
known mistakes of the bank), every test cell must pass or fail alike in both, so every score
is the same. (``tests/autograder/e2e/test_e2e_same_scores_as_nbgrader.py`` compares with real
``nbgrader autograde`` on the test fixture.)
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from course_harness import ROOT, assignments, bank, run

from autograder.core import notebooks as nbk
from autograder.core.course import Course, copy_config
from autograder.demo.simulate import SimStudent, notebook_text, solution_code
from autograder.grade.coordinator import grade
from autograder.release.steps import generate
from autograder.results.load import load_results

pytestmark = pytest.mark.slow
MISTAKEN = 1  # students per assignment who make known mistakes (two each); the red team,
# the end-to-end tests and the demo cover more


@pytest.mark.parametrize("name", assignments())
def test_tests_apart_give_the_verdicts_of_one_process(name, tmp_path):
    course_dir = tmp_path / "course"
    (course_dir / "source").mkdir(parents=True)
    copy_config(ROOT, course_dir)  # with a SQLite gradebook of its own
    shutil.copytree(ROOT / "source" / name, course_dir / "source" / name)
    course = Course.at(course_dir)
    generate(course, name)
    mistakes = bank(name)
    source_nb = nbk.read(course.source_notebook(name))
    release_nb = nbk.read(course.release_notebook(name))
    rng = np.random.default_rng(sum(map(ord, name)))
    students = [SimStudent("solution", "full")] + [
        SimStudent(f"m{i}", "mistakes",
                   [mistakes[j].name for j in rng.choice(len(mistakes), 2, replace=False)])
        for i in range(MISTAKEN)]
    for s in students:
        path = course.submitted / s.student / name / f"{name}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(notebook_text(s, source_nb, release_nb, list(mistakes)))
    grade(course, name, jobs=1, progress=False)  # three submissions: one worker is enough
    graded = {sub.student: {q.grade_id: q.passed for q in sub.questions if not q.manual}
              for sub in load_results(course, name)}
    assert sorted(graded) == sorted(s.student for s in students)
    for s in students:
        made = [m for m in mistakes if m.name in s.mistakes]
        replace = {m.cell: solution_code(nbk.cell_by_id(source_nb, m.cell).source,
                                         [x for x in made if x.cell == m.cell]) for m in made}
        one_process = run(name, replace=replace)
        expected = {gid: one_process.cells[gid].error is None for gid in graded[s.student]}
        assert graded[s.student] == expected, (s.student, s.mistakes)
    # the class is not trivial: the solution passes everything, each mistake fails a test
    assert all(graded["solution"].values()), graded["solution"]
    assert all(not all(graded[f"m{i}"].values()) for i in range(MISTAKEN)), graded
