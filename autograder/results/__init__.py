"""Stage 4, the read side: the gradebook and ``autograded/`` to what people read.

- :mod:`.load`: one ``Submission`` per student, with per-question results and messages;
- :mod:`.feedback`: one HTML page per student, hidden tests never shown;
- :mod:`.report`: one HTML report per assignment for the instructor;
- :mod:`.export`: ``grades.csv`` and ``questions.csv``;
- :mod:`.html`: the markup and style the pages share.

Nothing here imports the grading stack (``sandbox``, ``run``, ``grade``).
"""
