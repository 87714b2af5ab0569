"""The ``skprep`` command's entry point, light enough to answer Ctrl-C at once.

Importing the tool itself loads NumPy, pandas and scikit-learn (about a
second); an interrupt during that import ends the run with the tool's one line
and exit status 130, as an interrupt at any later point does.
"""

import sys

__all__ = ["main"]

EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shells' convention (as skprep.cli)


def main(argv=None):
    """Run the command-line tool; see ``skprep --help``."""
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        print("skprep: interrupted before it started", file=sys.stderr)
        return EXIT_INTERRUPTED
    return run(argv)
