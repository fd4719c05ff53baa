"""Energy, latency and area of a tile from what its RTL did.

One concept per module: the per-event figures of a configuration (:mod:`.figures`), the
events a run made (:mod:`.activity`), their energy (:mod:`.energy`), the synthesised and
analog area (:mod:`.area`), the digital switching measured in the simulated RTL
(:mod:`.digital`), and the reports (:mod:`.report`).
"""
