"""Behavioural models of the analog macro: pure numpy, with explicit random generators."""

from .adc import Adc
from .crossbar import Crossbar
from .macro import AnalogMacro

__all__ = ["Crossbar", "Adc", "AnalogMacro"]
