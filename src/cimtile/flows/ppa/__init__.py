"""Energy, latency and area of a tile from what its RTL did.

One concept per module: the per-event figures of a configuration (:mod:`.figures`), the
events a run made (:mod:`.activity`), their energy (:mod:`.energy`), the synthesised and
analog area (:mod:`.area`), the digital switching measured in the simulated RTL
(:mod:`.digital`), the reports (:mod:`.report`), the energy of a network run tile by tile
(:mod:`.network`) and a chip's energy per image and area (:mod:`.chip`).
"""
