"""Flows over the simulation layer: networks, studies, sweeps, benchmarks, the regression,
the energy, latency and area model (:mod:`.ppa`) and formal verification (:mod:`.formal`).
"""
