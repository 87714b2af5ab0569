"""The progress bar: tqdm on a terminal, nothing elsewhere."""

import os
import sys
import time

# The bar counts thousandths of the work; the rows done and their rate are shown
# beside it, because a chunked CSV's total of rows is not known until its end.
_STEPS = 1000
_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {rows} [{elapsed}<{remaining}]"


class Progress:
    """A bar for one pass over one table, or nothing when it would not be seen.

    Parameters
    ----------
    desc : str
        What the pass does, e.g. ``"fitting train.csv"``.
    enabled : bool
        False for ``--quiet``; the bar also stays off when stderr is not a
        terminal or tqdm is not installed.
    """

    def __init__(self, desc, enabled):
        self._bar = None
        self._start = time.monotonic()
        if not (enabled and sys.stderr.isatty()):
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return

        class _Bar(tqdm):
            # tqdm's own {postfix} field starts with ", "; this one is verbatim.
            rows = "0 rows"

            @property
            def format_dict(self):
                return {**super().format_dict, "rows": self.rows}

        try:
            width = os.get_terminal_size(sys.stderr.fileno()).columns
        except OSError:
            width = 0
        # A terminal that reports no width (some pseudo-terminals) gets 100.
        self._bar = _Bar(
            total=_STEPS,
            desc=desc,
            bar_format=_FORMAT,
            file=sys.stderr,
            leave=True,
            dynamic_ncols=width > 0,
            ncols=None if width > 0 else 100,
        )

    def update(self, rows, fraction):
        """Show ``rows`` done and ``fraction`` (0 to 1) of the pass done."""
        if self._bar is None:
            return
        elapsed = max(time.monotonic() - self._start, 1e-9)
        self._bar.rows = f"{rows:,} rows, {rows / elapsed:,.0f} rows/s"
        self._bar.update(round(fraction * _STEPS) - self._bar.n)

    def close(self, complete):
        """Close the bar, at 100% if ``complete`` (once, never twice)."""
        if self._bar is None:
            return
        if complete:
            self._bar.update(_STEPS - self._bar.n)
        self._bar.close()
        self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, kind, *_):
        self.close(complete=kind is None)
        return False


def tqdm_missing_note(enabled):
    """One line saying how to get the bar, when it would show but tqdm is absent."""
    if not (enabled and sys.stderr.isatty()):
        return None
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return 'skprep: note: no progress bar without tqdm; pip install "skprep[cli]"'
    return None
