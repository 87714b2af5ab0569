"""The two kinds of failure the command reports, each as one line."""

# Exit statuses, documented in docs/user_guide/cli.rst.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shells' convention


class CLIError(Exception):
    """Bad data, a missing or clashing file, an unusable model: exit status 1."""


class UsageError(Exception):
    """A command line that cannot be carried out as written: exit status 2."""


def one_line(message):
    """``message`` with its lines joined, so every error stays on one line."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())
