"""Formal properties of the tile's and the chip's blocks, written in Amaranth (``Assert``,
``Assume``, ``Cover``).

The rules live here, beside the blocks, one module per interface or block, each function
named after the rule set it states; the harnesses that drive a block with free inputs and
the runner that hands them to SymbiYosys live in :mod:`cimtile.flows.formal`. Keeping the two apart
lets the same rule serve every place the interface appears: the AXI4-Stream rules check
the host's output ports and constrain its input ports; the channel rules check AXI4-Lite,
AXI4-Stream and the tile's internal streams alike.

- :mod:`.rules`: the registry that names every property and the signals it involves, so a
  counterexample can be reported rule by rule.
- :mod:`.handshake`: a VALID/READY channel (held until taken, payload stable).
- :mod:`.axi_stream`: an AXI4-Stream port.
- :mod:`.axi_lite`: the AXI4-Lite subordinate of the register map.
- :mod:`.tile`: the tile core (results, analog-port exclusivity, write-verify budget,
  latency).
- :mod:`.chip_sequencer`: the chip sequencer (no command while a hazard is open).
- :mod:`.chip_datapath`: the chip datapath (each command answered once and on time).
"""
