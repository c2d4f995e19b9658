"""``python -m autograder``: the same as the ``course`` command."""

from autograder.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
