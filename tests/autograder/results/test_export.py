"""The CSV export (``autograder.results.export``): no cell a spreadsheet would run."""

import csv

from autograder.results.export import escape_csv, safe_cell


def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(tmp_path):
    for text in ("=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("x")'):
        assert safe_cell(text) == "'" + text
    for value in ("-1.5", "+2", "1e-3", "plain", "", 3.0, -2.0, None):
        assert safe_cell(value) == value
    path = tmp_path / "grades.csv"
    path.write_text('student_id,first_name,score\ns1,=cmd|x,-1.0\ns2,"@a,b",3\n')
    escape_csv(path)
    rows = list(csv.reader(path.open(newline="")))
    assert rows == [["student_id", "first_name", "score"], ["s1", "'=cmd|x", "-1.0"],
                    ["s2", "'@a,b", "3"]]
