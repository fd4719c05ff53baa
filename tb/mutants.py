"""Deliberate RTL bugs, for measuring what the regression catches (mutation analysis).

Each mutant rewrites one statement of one module in the generated Verilog of the simulated
top, the same text in either drive mode (the bulk top embeds the checked host top), so a
mutant is built and cached like any other design. A mutant whose statement a configuration
does not generate (e.g. no ADC sharing, so no conversion counter) leaves that configuration
unchanged: its seeds then run the healthy RTL.
"""

import re
from dataclasses import dataclass

__all__ = ["MUTANTS", "Mutant", "mutated_top"]


@dataclass(frozen=True)
class Mutant:
    """One bug: in module ``\\cim_host_checked.<module>``, the first `count` matches of
    `pattern` (every match with 0) become `replacement` (as for ``re.sub``)."""
    module: str
    pattern: str
    replacement: object
    doc: str
    count: int = 0

    def apply(self, verilog):
        """`verilog` with the bug, or unchanged where the statement is not generated."""
        header = re.search(rf"^module \\cim_host_checked\.{re.escape(self.module)} \(",
                           verilog, re.MULTILINE)
        if header is None:
            return verilog
        end = verilog.index("endmodule", header.end())
        body = re.sub(self.pattern, self.replacement, verilog[header.end():end],
                      count=self.count)
        return verilog[:header.end()] + body + verilog[end:]


def _one_conversion_early(match):
    """The ADC sequencer's done condition (its first comparison of the conversion count,
    or the count itself when it is one bit) true one conversion early."""
    name, width, last = match.group(1), match.group(3), match.group(4)
    if width is None:
        return f"assign {name}  = ~conversion;"
    return f"assign {name}  = conversion == {width}'h{int(last, 16) - 1:x};"


MUTANTS = {
    # (Latching the conversions in another order is no bug: every column's code is held
    # for the whole plane, so the order cannot show.)
    "adc_off_by_one": Mutant(
        "host.tile.adc_sequencer", r"assign (\\\$\d+)  = conversion( == (\d+)'h([0-9a-f]+))?;",
        _one_conversion_early,
        "the ADC sequencer signals a plane done one conversion early, before it latched "
        "the last conversion's columns", count=1),
    "tlast_dropped": Mutant(
        "host.out_framer", r"o__tlast = (\\\$\d+) ;", r"o__tlast = \1  & frame_open;",
        "the output framer drops TLAST on the first beat of a frame (a one-beat batch)"),
    "msb_sign": Mutant(
        "host.tile.shift_add", r"= - last;", "= - 1'h0;",
        "the shift-and-add adds the MSB plane instead of subtracting it"),
    "wv_step_kept_on_flip": Mutant(
        "host.tile.write_verify", r"= cell__polarity == polarity;", "= 1'h1;",
        "write-verify keeps stepping the amplitude when the polarity flips"),
    "soft_reset_cuts_result": Mutant(
        "host.out_framer", r"assign hold_reset = .*;", "assign hold_reset = soft_reset;",
        "a soft reset clears the result packer at once, cutting the result it is sending"),
}


class _MutatedTop:
    """A simulated-top generator (as :func:`cimtile.tb.host_runner.play` takes) with a
    mutant applied."""

    def __init__(self, generate, mutant):
        self.generate, self.mutant = generate, mutant

    def __call__(self, cfg):
        return self.mutant.apply(self.generate(cfg))


def mutated_top(name, drive):
    """``(verilog generator, top module)`` of the simulated top of `drive` (with the
    coverage monitor, as the regression runs it) with mutant `name`."""
    from .coverage_tops import COVERAGE_TOPS
    if name not in MUTANTS:
        raise ValueError(f"mutant must be one of {', '.join(MUTANTS)}, not {name!r}")
    generate, top = COVERAGE_TOPS[drive]
    return _MutatedTop(generate, MUTANTS[name]), top
