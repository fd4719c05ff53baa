"""Verdicts into the command's exit status and its summary's first line: the one place a
comparison with an expectation decides how a command ends."""

from cimtile.spec.files import EXIT_FAILURE, print_error

__all__ = ["exit_status", "verdict_line"]


def exit_status(*verdicts):
    """0 when every :class:`~cimtile.models.verdict.Verdict` is ok; otherwise 1, after one
    line on stderr per failed verdict, ``cimtile: error: <its description>``."""
    failed = [verdict for verdict in verdicts if not verdict.ok]
    for verdict in failed:
        print_error(verdict.describe(), EXIT_FAILURE)
    return EXIT_FAILURE if failed else 0


def verdict_line(*verdicts):
    """A summary's first line: ``PASS`` or ``FAIL``, then each verdict's description."""
    passed = all(verdict.ok for verdict in verdicts)
    return f"{'PASS' if passed else 'FAIL'}: " + "; ".join(v.describe() for v in verdicts)
