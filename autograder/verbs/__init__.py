"""One module per ``course`` verb: its help text, its arguments and its handler.

A verb composes the stages (``release``, ``collect``, ``grade``, ``results``); no stage
imports a verb. The table of verbs is :data:`autograder.cli.VERBS`.
"""
