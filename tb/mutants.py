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
    """One bug: in module ``\\cim_host_checked.<module>``, `pattern` becomes `replacement`
    (``re.sub`` syntax)."""
    module: str
    pattern: str
    replacement: str
    doc: str

    def apply(self, verilog):
        """`verilog` with the bug, or unchanged where the statement is not generated."""
        header = re.search(rf"^module \\cim_host_checked\.{re.escape(self.module)} \(",
                           verilog, re.MULTILINE)
        if header is None:
            return verilog
        end = verilog.index("endmodule", header.end())
        body = re.sub(self.pattern, self.replacement, verilog[header.end():end])
        return verilog[:header.end()] + body + verilog[end:]


MUTANTS = {
    "adc_off_by_one": Mutant(
        "host.tile.adc_sequencer", r"casez \(conversion\)", "casez (conversion + 1'h1)",
        "the ADC sequencer latches each conversion into the next conversion's columns"),
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
    """``(verilog generator, top module)`` of the simulated top of `drive` with mutant
    `name`."""
    from .host_runner import TOPS
    if name not in MUTANTS:
        raise ValueError(f"mutant must be one of {', '.join(MUTANTS)}, not {name!r}")
    generate, top = TOPS[drive]
    return _MutatedTop(generate, MUTANTS[name]), top
