"""A simulated class: the source solution with known mistakes injected (:mod:`.simulate`,
the banks in :mod:`.mistakes`), and plain ``nbgrader autograde`` for comparison
(:mod:`.compare`). ``course demo`` (:mod:`autograder.verbs.demo`) runs it end to end."""
