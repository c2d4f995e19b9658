"""What every stage shares, and imports nothing else of the grader: where a course keeps its
files (:mod:`.course`), what nbgrader's cells and markers look like (:mod:`.notebooks`), and
the formats stages pass to each other (:mod:`.formats`)."""
