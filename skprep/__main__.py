"""``python -m skprep`` runs the command-line tool."""

from ._entry import main

if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess
    raise SystemExit(main())
