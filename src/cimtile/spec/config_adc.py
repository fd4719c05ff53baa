"""The ``[adc]`` table: one ADC, described once. Its conversion rate sets its cycles at the
configured clock; its figure of merit, effective bits and area set its energy and area per
conversion at any resolution and rate.
"""

import math
from dataclasses import dataclass

from .config_fields import ConfigError, float_field, int_field

__all__ = ["AdcConfig", "adc_timing"]


@dataclass(frozen=True)
class AdcConfig:
    """A column ADC: its rate, and the published design its energy and area come from.

    One conversion at ``adc_bits`` costs ``fom_fj * 2**(adc_bits - enob_loss)`` fJ: the
    Walden figure of merit (energy per conversion step, steps counted at the effective
    number of bits) held constant over resolution and over every rate up to the design's
    ``max_msps``. One ADC takes ``area_um2 * 2**(adc_bits - area_bits)`` um2 (its capacitive
    DAC doubles per bit, this project's first-order assumption), times
    ``ceil(rate / max_msps)`` time-interleaved copies if it converts faster than the
    design. The figures are at the design's node and are not scaled to ``[ppa] node_nm``.

    Every default is one point of Murmann's ADC performance survey (B. Murmann, "ADC
    Performance Survey 1997-2025", revision 20250609, github.com/bmurmann/ADC-survey, ISSCC
    sheet): the lowest Walden figure of merit at Nyquist (FOMW_hf) among its Nyquist ADCs of
    40-52 dB SNDR (6.4-8.3 effective bits, what an 8-bit column ADC gives) converting at 200
    MS/s or faster, ISSCC 2023 paper 17.7: J.-C. Wang and T.-H. Kuo, "A 3-mW 2.7-GS/s 8b
    Subranging ADC with Multiple-Reference-Embedded Comparators", doi
    10.1109/ISSCC42615.2023.10067498: 8 bits, 2.7 GS/s, 28 nm, 3 mW, 0.018 mm2, 45.9 dB SNDR
    at Nyquist (7.33 effective bits), 6.9 fJ per conversion step (1.11 pJ a conversion).
    Slower designs reach lower figures of merit, so at a slower rate the energy is an upper
    bound.
    """
    # 0 leaves [timing] t_adc in charge, as in configs written before this table.
    rate_msps: float = float_field(0.0, 0, 10**5, "conversion rate, MS/s, which gives "
                                   "[timing] t_adc and adc_per_step at ppa.clock_mhz (0: "
                                   "[timing] gives them)")
    fom_fj: float = float_field(6.9, 0, 10**6, "Walden figure of merit, fJ per conversion "
                                "step", open_low=True)
    enob_loss: float = float_field(0.67, 0, 16, "nominal bits minus effective bits")
    area_um2: float = float_field(18000.0, 0, 10**9, "area of one ADC at area_bits, um2")
    area_bits: int = int_field(1, 16, "resolution area_um2 is given at", 8)
    max_msps: float = float_field(2700.0, 0, 10**6, "fastest rate of one ADC, MS/s",
                                  open_low=True)

    def energy_pj(self, bits):
        """Energy of one conversion at `bits` nominal bits, pJ."""
        return self.fom_fj * 1e-3 * 2.0 ** (bits - self.enob_loss)

    def area(self, bits, rate_msps):
        """Area of one ADC of `bits` converting at `rate_msps`, um2."""
        return (self.area_um2 * 2.0 ** (bits - self.area_bits)
                * math.ceil(rate_msps / self.max_msps))


def adc_timing(adc, clock_mhz, timing_values):
    """The ``[timing]`` table `timing_values` of a configuration with its ADC's cycles: as
    given, or those of one ADC at ``adc.rate_msps`` and `clock_mhz`. An ADC slower than the
    clock takes ``t_adc = ceil(clock_mhz / rate_msps)`` cycles a conversion; a faster one
    completes ``adc_per_step = floor(rate_msps / clock_mhz)`` conversions every cycle.

    Raises
    ------
    ConfigError
        If both or neither are given, or the rate gives more than 1024 cycles or 64
        conversions a cycle.
    """
    given = [key for key in ("t_adc", "adc_per_step") if key in timing_values]
    rate = adc.rate_msps
    if given and rate:
        raise ConfigError(f"timing.{given[0]} ({timing_values[given[0]]!r}) and "
                          f"adc.rate_msps ({rate:g}) both given; give one: t_adc in "
                          f"1..1024 cycles or rate_msps in (0, 100000] MS/s")
    if not rate:
        if "t_adc" not in timing_values:
            raise ConfigError("missing key timing.t_adc (or adc.rate_msps)")
        return timing_values
    if rate <= clock_mhz:
        t_adc, per_step = math.ceil(clock_mhz / rate - 1e-9), 1
    else:
        t_adc, per_step = 1, math.floor(rate / clock_mhz + 1e-9)
    if t_adc > 1024 or per_step > 64:
        raise ConfigError(f"adc.rate_msps must give 1..1024 cycles a conversion and at most "
                          f"64 conversions a cycle at ppa.clock_mhz = {clock_mhz:g}, not "
                          f"{rate:g}")
    return timing_values | {"t_adc": t_adc, "adc_per_step": per_step}
