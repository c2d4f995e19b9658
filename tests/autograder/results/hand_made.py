"""Hand-made results (no kernel) for the tests of the read side."""

from autograder.results.load import Question, Submission


def submission(student="s1", score=1.0, mistakes=()):
    q1 = Question(student, "ps1", "test_f", score, 2.0,
                  messages=["CheckError: <b>bad</b>"], mistakes=list(mistakes))
    q2 = Question(student, "ps1", "test_g", 3.0, 3.0)
    return Submission(student, "ps1", [q1, q2], runtime=0.5, reasons=["cell timeout in f"])
