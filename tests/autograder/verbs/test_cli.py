"""The ``course`` command line: every verb wired, and ``course demo``'s answers (no kernel
started). (Each verb's handler, arguments and help: ``test_layout.py``.)"""

import pytest

from autograder.cli import main, parser


def test_every_verb_is_wired():
    p = parser()
    for argv in (["release", "--all"], ["validate", "x.ipynb"], ["collect", "dir"],
                 ["grade", "ps1", "--jobs", "2", "--student", "a", "b"], ["feedback", "ps1"],
                 ["export"], ["report", "ps1"], ["bundle"], ["demo", "--students", "3"]):
        assert p.parse_args(argv).verb == argv[0]


def test_demo_without_assignments_says_so(tmp_path, capsys):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    assert main(["--root", str(tmp_path), "demo"]) == 1
    assert "there are no assignments" in capsys.readouterr().out


def test_demo_fails_when_an_assignment_fails(tmp_path, monkeypatch, capsys):
    from autograder.verbs import demo
    rows = [demo.DemoRow("ps1", students=8, mean=7.5, max_score=10.0, full=3),
            demo.DemoRow("ps2", students=8, max_score=5.0)]
    monkeypatch.setattr(demo, "demo", lambda *a, **k: (rows, tmp_path / "report.html"))
    assert main(["--root", str(tmp_path), "demo"]) == 0
    out = capsys.readouterr().out
    assert "7.5/10" in out and f"report: {tmp_path / 'report.html'}" in out
    assert "flagged" not in out and "independent" not in out
    rows[1].error = "release failed: test_x"
    assert main(["--root", str(tmp_path), "demo"]) == 1
    assert "release failed: test_x" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # the option is gone with the second phase
        parser().parse_args(["grade", "a", "--no-independent-check"])
    assert "no_independent_check" not in vars(parser().parse_args(["grade", "a"]))
    assert parser().parse_args(["release", "a", "--keep-check", "d"]).keep_check.name == "d"
