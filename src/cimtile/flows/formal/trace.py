"""Counterexample traces: the VCD SymbiYosys writes, read back as one row per cycle.

yosys-smtbmc dumps every signal of the checked design at every solver step (its
``smt_step`` counter); a step is a clock cycle. :func:`read_vcd` keeps the top module's
signals, which in a harness are the design's ports and the rules' own signals, and
:func:`cycle_table` prints those a failed rule involves.
"""

from dataclasses import dataclass

__all__ = ["TraceError", "Trace", "read_vcd", "cycle_table"]


class TraceError(ValueError):
    """A trace file cannot be read; the message names the file and the problem."""


@dataclass
class Trace:
    """Values of a trace, by signal name, one per cycle.

    Attributes
    ----------
    widths : dict of str to int
    values : dict of str to list of int
        ``None`` where a bit was undefined.
    """
    widths: dict
    values: dict

    @property
    def cycles(self):
        return max((len(v) for v in self.values.values()), default=0)


def _number(bits):
    return None if any(b not in "01" for b in bits) else int(bits, 2)


def _set(current, names, bits):
    """Record a value change; whether it is a change of the design rather than the clock
    (which also toggles between steps, and alone after the last one)."""
    for name in names:
        current[name] = _number(bits)
    return names != ["clk"]


def read_vcd(path):
    """Read the top-module signals of a yosys-smtbmc VCD trace.

    Raises
    ------
    TraceError
        If the file cannot be read or is not such a trace.
    """
    try:
        text = open(path).read()
    except OSError as error:
        raise TraceError(f"{path}: cannot read trace: {error.strerror or error}") from None
    codes, widths, depth, step_code = {}, {}, 0, None
    current, steps, header, changed = {}, [], True, False
    tokens = iter(text.split())
    for token in tokens:
        if header:
            header = token != "$enddefinitions"
        if token == "$scope":
            depth += 1
        elif token == "$upscope":
            depth -= 1
        elif token == "$var":
            _kind, width, code, name = next(tokens), next(tokens), next(tokens), next(tokens)
            if name == "smt_step":
                step_code = code
            elif depth == 1:
                codes.setdefault(code, []).append(name)
                widths[name] = int(width)
        elif header or token.startswith(("#", "$")):
            continue
        elif token[0] in "bB":
            code = next(tokens)
            if code == step_code:
                if changed:
                    steps.append(dict(current))
                changed = False
            elif code in codes:
                changed = _set(current, codes[code], token[1:]) or changed
        elif token[0] in "01xXzZ" and token[1:] in codes:
            changed = _set(current, codes[token[1:]], token[0]) or changed
    if step_code is None:
        raise TraceError(f"{path}: not a yosys-smtbmc trace (no smt_step counter)")
    if changed:
        steps.append(dict(current))
    values = {name: [step.get(name) for step in steps] for name in widths}
    return Trace(widths, values)


def _show(value, width):
    if value is None:
        return "x"
    if width <= 4:
        return str(value)
    return f"{value:#0{2 + -(-width // 4)}x}"


def cycle_table(trace, names, *, last=24):
    """A table of `names` (those the trace has) over the cycles of `trace`, one row per
    cycle, the last `last` cycles at most."""
    names = [n for n in dict.fromkeys(names) if n in trace.values]
    first = max(0, trace.cycles - last)
    cells = [["cycle"] + names]
    for cycle in range(first, trace.cycles):
        cells.append([str(cycle)] + [_show(trace.values[n][cycle], trace.widths[n])
                                     for n in names])
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in cells]
    if first:
        lines.insert(1, f"(cycles 0..{first - 1} not shown)")
    return "\n".join(lines)
