"""What a command prints: a short summary for people, or with ``--json`` its whole report
for machines (the JSON ``--report FILE`` writes).

A summary's first line is the verdict; the figures follow one a line, ``name  value unit``,
the values starting in one column.
"""

import json

__all__ = ["add_json_option", "stage_json", "summary_text", "print_report", "error_rows",
           "run_rows"]


def add_json_option(parser):
    """``--json``: print the whole report as JSON on stdout instead of the summary."""
    parser.add_argument("--json", action="store_true", help="print the whole report as "
                        "JSON instead of the summary (nothing else on stdout)")


def stage_json(outputs, path, option, data):
    """Stage `data` as indented JSON at `path` in `outputs` (an :class:`OutputFiles`)."""
    text = json.dumps(data, indent=2) + "\n"
    outputs.stage(path, option, lambda file: file.write(text.encode()))


def _value(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def summary_text(first, rows):
    """`first` (the verdict), then one line per ``(name, value, unit)`` of `rows`, the
    values aligned after the longest name; numbers get thousands separators."""
    width = max((len(name) for name, _, _ in rows), default=0)
    lines = [f"{name:<{width}}  {_value(value)} {unit}".rstrip()
             for name, value, unit in rows]
    return "\n".join([first, *lines])


def print_report(args, report, first, rows):
    """Print the summary (`first` and `rows`, see :func:`summary_text`), or `report` as
    JSON with ``--json``."""
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(summary_text(first, rows))


def error_rows(report):
    """Lines of the error against ``X @ W`` (:func:`cimtile.flows.metrics.error_metrics`)."""
    return [("normalised RMS error", report["normalized_rms_error"], "of the range of X @ W"),
            ("RMS error", report["rms_error"], ""),
            ("max abs error", report["max_abs_error"], "")]


def run_rows(report):
    """Lines of a co-simulated batch (:func:`cimtile.flows.batch.run_report`)."""
    return [("vectors", report["mvms"], ""),
            ("cycles per MVM", report["cycles_per_mvm"],
             f"(analog {report['analog_cycles_per_mvm']:,})"),
            ("total cycles", report["cycles_total"], ""),
            ("speed", report["mvm_per_s"], "MVM/s"),
            ("wall time", report["wall_s"], f"s (build {report['build_s']:.2f} s)")]
