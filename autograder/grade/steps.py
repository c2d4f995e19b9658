"""The steps of grading one submitted notebook: nbgrader's own preprocessors, in nbgrader's
order, with ours where nbgrader has a gap. To add a step, add it to one of the lists below.

Per notebook, in this order:

1. ``SANITIZE`` (worker; on a Dask cluster the coordinator; reads the gradebook): clear
   the student's outputs, make grade ids unique, put the course's kernel spec back, and
   overwrite every locked cell with the gradebook's source version -- so the tests that
   run are the instructor's, hidden tests included, whatever the student did to them;
   then check the cells' metadata. Outputs are cleared first so nothing the student saved
   is graded.
2. execute (worker): :func:`autograder.run.execute.execute_submission` runs the student's
   cells in a sandboxed kernel and every test cell in the trusted process. It needs the
   sanitized notebook: the test cells it runs apart are the overwritten ones.
3. ``POSTPROCESS`` (worker): drop Python warnings from stderr (nbgrader scores any stderr
   in a test cell as a failure), apply ``IgnorePattern``, clear metadata and cap the
   output, before anything is scored; then ``CheckCellMetadata`` once more (nbgrader runs
   it after saving; its failure is recorded, not fatal).
4. ``SAVE`` (the coordinator, the only process that writes the gradebook): the auto grades,
   then the late penalty, which needs them.

A notebook that cannot be used (malformed JSON, missing) gets zero on every grade cell, as
nbgrader does for a missing notebook, and the reason is recorded; it never stops the others.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbformat.reader import NotJSONError
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from autograder.core import notebooks as nbk
from autograder.core.course import Course
from autograder.grade.jobs import Job
from autograder.grade.submissions import read_submission, zero
from autograder.run.preprocessors import IgnoreWarnings


class DropEmptyMetadata(NbGraderPreprocessor):
    """Make the copies that ``DeduplicateIds`` emptied plain cells again.

    nbgrader keeps the last cell of a duplicated grade id and empties the ``nbgrader``
    metadata of the others, which ``CheckCellMetadata`` then rejects, so the whole notebook
    fails (nbgrader issues #1083, #1682). Without the empty dict they are ordinary cells.
    """

    def preprocess_cell(self, cell, resources, index):
        if "nbgrader" in cell.get("metadata", {}) and not cell.metadata.nbgrader:
            del cell.metadata["nbgrader"]
        return cell, resources


SANITIZE = [ClearOutput, DeduplicateIds, DropEmptyMetadata, OverwriteKernelspec, OverwriteCells,
            CheckCellMetadata]
POSTPROCESS = [IgnoreWarnings, IgnorePattern, ClearMetadataPreprocessor, LimitOutput]
SAVE = [SaveAutoGrades, AssignLatePenalties]


def run_preprocessors(classes, nb, resources, config):
    """Apply nbgrader/nbconvert preprocessors in order (each honours its ``enabled``)."""
    for cls in classes:
        nb, resources = cls(config=config)(nb, resources)
    return nb, resources


def missing_grade_cells(nb, source_path: str) -> list[str]:
    """Grade ids of the source notebook that the submission no longer has."""
    if not Path(source_path).is_file():
        return []
    source = nbformat.read(source_path, as_version=4)
    present = {nbk.grade_id(c) for c in nb.cells}
    return [nbk.grade_id(c) for c in nbk.grade_cells(source) if nbk.grade_id(c) not in present]


def sanitize(job: Job, config):
    """nbgrader's sanitizing preprocessors (gradebook reads only); None if unusable."""
    try:
        nb, notes = read_submission(job.path)
        job.result.reasons += notes
        missing = missing_grade_cells(nb, job.source)
        if missing:
            job.result.reasons.append(
                f"grade cells missing from the submission (deleted or their metadata "
                f"removed): {', '.join(missing)}; they earn no points")
        nb, _ = run_preprocessors(SANITIZE, nb, job.resources, config)
        return nb
    except Exception as err:  # noqa: BLE001  (the notebook is unusable: zero, with reason)
        detail = "not valid JSON" if isinstance(err, NotJSONError) else str(err)[:300]
        job.result.reasons.append(f"unusable notebook: {type(err).__name__}: {detail}")
        job.usable = False
        return None


def postprocess(job: Job, nb, config) -> None:
    """``POSTPROCESS``, then ``CheckCellMetadata``; the result is kept in ``job.nb_json``."""
    nbk.normalize_outputs(nb)
    nb, _ = run_preprocessors(POSTPROCESS, nb, dict(job.resources), config)
    try:  # nbgrader runs this check after saving; its failure is recorded, not fatal
        run_preprocessors([CheckCellMetadata], nb, dict(job.resources), config)
    except Exception as err:  # noqa: BLE001
        job.result.reasons.append(f"cell metadata: {type(err).__name__}: {err}"[:500])
    job.nb_json = nbformat.writes(nb)


def save(course: Course, job: Job, config) -> None:
    """Record the grades (the only gradebook writes) and write the autograded notebook."""
    r = job.result
    if not job.usable:
        zero(course, r)
        return
    nb = nbformat.reads(job.nb_json, as_version=4)
    nb, _ = run_preprocessors(SAVE, nb, job.resources, config)
    nbformat.write(nb, str(course.autograded / r.student / r.assignment / f"{r.notebook}.ipynb"))
