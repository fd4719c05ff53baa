"""Reference models over the spec, hardware and analog layers, shared by simulation, boards
and flows: the golden model of the tile (:mod:`.golden`), golden program-and-verify
(:mod:`.program`) and column repair (:mod:`.repair`).
"""
