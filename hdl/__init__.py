"""Amaranth gateware of the tile's digital periphery, one module per block."""

from .tile import TOP_NAME, Tile, verilog_source

__all__ = ["Tile", "verilog_source", "TOP_NAME"]
