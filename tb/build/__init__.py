"""Verilator builds of the simulated tops: the build, its content-keyed cache and the stored elaborated Verilog."""
