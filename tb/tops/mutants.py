"""Deliberate RTL bugs, for measuring what the regression catches (mutation analysis).

Each mutant rewrites one statement of one module in the generated Verilog of the checked
host top (or every statement its one bug touches: each copy of one expression, one latch
per step), the same text in either drive mode (the bulk top instantiates the checked host
top), so a mutant is built and cached like any other design. A mutant whose statement a
configuration does not generate (e.g. no ADC sharing, so no conversion counter; the other
controller) leaves that configuration unchanged: its seeds then run the healthy RTL.
"""

import functools
import re
from dataclasses import dataclass

from cimtile.spec.regmap import register

__all__ = ["MUTANTS", "Mutant", "mutated_top", "substitute"]


@dataclass(frozen=True)
class Mutant:
    """One bug: `edit` rewrites the body of module ``\\cim_host_checked.<module>``."""
    module: str
    edit: object
    doc: str

    def apply(self, verilog):
        """`verilog` with the bug, or unchanged where the statement is not generated."""
        header = re.search(rf"^module \\cim_host_checked\.{re.escape(self.module)} \(",
                           verilog, re.MULTILINE)
        if header is None:
            return verilog
        end = verilog.index("endmodule", header.end())
        return verilog[:header.end()] + self.edit(verilog[header.end():end]) + verilog[end:]


def substitute(pattern, replacement, count=0):
    """An edit that makes the first `count` matches of `pattern` (every match with 0)
    `replacement`, as ``re.sub`` does."""
    return functools.partial(re.sub, pattern, replacement, count=count)


def _one_conversion_early(match):
    """The ADC sequencer's done condition (its first comparison of the conversion count,
    or the count itself when it is one bit) true one conversion early."""
    name, width, last = match.group(1), match.group(3), match.group(4)
    if width is None:
        return f"assign {name}  = ~conversion;"
    return f"assign {name}  = conversion == {width}'h{int(last, 16) - 1:x};"


def _pipelined(edit):
    """`edit`, on the pipelined controller only (the one whose bank holds a plane number;
    both controllers are the tile's ``controller``)."""
    def guarded(body):
        return edit(body) if re.search(r"\bheld_plane\b", body) else body
    return guarded


def _released_at_sample(body):
    """The pipelined controller's drive low in its sample state: the state whose case arm
    strobes ``sample``, found by that arm."""
    state = re.search(r"(\d+'h[0-9a-f]+):\s*if \(\\\$\d+ \) begin\s*sample = 1'h1;", body)
    if state is None:
        return body
    return re.sub(rf"({re.escape(state.group(1))}:\s*)drive = 1'h1;", r"\g<1>drive = 1'h0;",
                  body)


def _last_of_each_run_lost(body):
    """The ADC sequencer's step cases without the last of each run of adjacent columns
    they latch (the slots one ADC fills in one step; a run of one is left alone)."""
    def arm(match):
        lines = match.group(0).split("\n")
        slices = [re.search(r"= codes\[(\d+):(\d+)\];", line) for line in lines]
        keep = []
        for index, (line, found) in enumerate(zip(lines, slices)):
            after = slices[index + 1] if index + 1 < len(slices) else None
            before = slices[index - 1] if index else None
            joined_before = (found and before
                             and int(before.group(1)) + 1 == int(found.group(2)))
            joined_after = (found and after
                            and int(found.group(1)) + 1 == int(after.group(2)))
            if not (joined_before and not joined_after):
                keep.append(line)
        return "\n".join(keep)
    return re.sub(r"begin\n(?:\s*\\\$\d+ \[\d+:\d+\] = codes\[\d+:\d+\];\n)+\s*end",
                  arm, body)


def _case(reg):
    """The case label of register `reg` in the register block's address decode."""
    return rf"10'h{reg.offset >> 2:03x}:"


def _upper_bound_plus_one(reg):
    """An edit that raises the upper bound of `reg`'s range check by one: the check is the
    condition after the busy check in the register's case; its comparison is found through
    the wires that forward it."""
    def edit(body):
        conditions = set(re.findall(
            _case(reg) + r"\s*if \(status_busy\) begin\n[^\n]*\n\s*end else if \((\\\$\d+) \)",
            body))
        for name in conditions:
            while True:
                source = re.search(rf"assign {re.escape(name)}  = (\\\$\d+) ;", body)
                if source is None:
                    break
                name = source.group(1)
            body = re.sub(rf"(assign {re.escape(name)}  = .* > )(\d+)'h([0-9a-f]+);",
                          lambda m: f"{m.group(1)}32'd{int(m.group(3), 16) + 1};", body)
        return body
    return edit


MUTANTS = {
    # (Latching the conversions in another order is no bug: every column's code is held
    # for the whole plane, so the order cannot show.)
    "adc_off_by_one": Mutant(
        "host.tile.adc_sequencer",
        substitute(r"assign (\\\$\d+)  = conversion( == (\d+)'h([0-9a-f]+))?;",
                   _one_conversion_early, count=1),
        "the ADC sequencer signals a plane done one conversion early, before it latched "
        "the last conversion's columns"),
    # Only where a step converts several columns of one ADC (adjacent slots latched in one
    # step); the conversions of one a step leave no run to shorten.
    "adc_step_one_short": Mutant(
        "host.tile.adc_sequencer", _last_of_each_run_lost,
        "the ADC sequencer latches one conversion fewer than a step of several converts: "
        "each ADC's last column of the step keeps the previous plane's code"),
    "pipeline_release_at_sample": Mutant(
        "host.tile.controller", _pipelined(_released_at_sample),
        "the pipelined controller releases the wordlines one cycle early, in the cycle of "
        "their sample"),
    "pipeline_bank_overwritten": Mutant(
        "host.tile.controller",
        _pipelined(substitute(r"assign (\\\$\d+)  = \\\$\d+  \| adc_done;",
                              r"assign \1  = 1'h1;")),
        "the pipelined controller samples the next plane whether or not the sample-and-hold "
        "bank's plane has been converted (the bank counted free)"),
    "tlast_dropped": Mutant(
        "host.out_framer", substitute(r"o__tlast = (\\\$\d+) ;", r"o__tlast = \1  & frame_open;"),
        "the output framer drops TLAST on the first beat of a frame (a one-beat batch)"),
    "msb_sign": Mutant(
        "host.tile.shift_add", substitute(r"= - last;", "= - 1'h0;"),
        "the shift-and-add adds the MSB plane instead of subtracting it"),
    "wv_step_kept_on_flip": Mutant(
        "host.tile.write_verify", substitute(r"= cell__polarity == polarity;", "= 1'h1;"),
        "write-verify keeps stepping the amplitude when the polarity flips"),
    "soft_reset_cuts_result": Mutant(
        "host.out_framer",
        substitute(r"assign hold_reset = .*;", "assign hold_reset = soft_reset;"),
        "a soft reset clears the result packer at once, cutting the result it is sending"),
    # Only where a spare is chosen among several: with one spare there is no index.
    "remap_off_by_one": Mutant(
        "host.tile.column_remap",
        substitute(r"= \\table \[(\d+):(\d+)\] - 1'h1;", r"= \\table [\1:\2];"),
        "the column remap reads spare k for entry k, not spare k - 1 (entry 1 the second "
        "spare, the last entry none)"),
    "remap_spare_range_loose": Mutant(
        "host.registers", _upper_bound_plus_one(register("REMAP_SPARE")),
        "REMAP_SPARE accepts one spare beyond the spare columns (spare_cols + 1)"),
    "write_while_busy": Mutant(
        "host.registers",
        substitute("(" + _case(register("WV_PULSE"))
                   + r"\s*(?:\(\* full_case = 32'd1 \*\)\s*)?if \()status_busy\)", r"\g<1>1'h0)"),
        "a WV_PULSE write is accepted while busy (the other registers refused while busy "
        "still are)"),
    "error_lost_beside_done": Mutant(
        "host.registers", substitute(r"if \(error\) begin", "if (error & ~done) begin"),
        "a datapath error raised in the same cycle as done is lost: neither STATUS.error "
        "nor its cause is set (done wins)"),
}


class _MutatedTop:
    """A checked-top generator with a mutant applied."""

    def __init__(self, generate, mutant):
        self.generate, self.mutant = generate, mutant

    def __call__(self, cfg):
        return self.mutant.apply(self.generate(cfg))


def mutated_top(name, drive):
    """The simulated top of `drive` (a :class:`~cimtile.tb.build.sim_top.Design`, with the
    coverage monitor, as the regression runs it) with mutant `name`."""
    from .coverage_tops import COVERAGE_SOURCE, DESIGNS
    if name not in MUTANTS:
        raise ValueError(f"mutant must be one of {', '.join(MUTANTS)}, not {name!r}")
    return DESIGNS[drive](_MutatedTop(COVERAGE_SOURCE, MUTANTS[name]))
