"""The configuration tables of the digital tile: geometry, timing, host widths and the
write-verify settings, each a frozen dataclass whose fields declare their allowed range.
"""

from dataclasses import dataclass

from .config_fields import bool_field, int_field

__all__ = ["HostConfig", "TileConfig", "TimingConfig", "WriteVerifyConfig"]


@dataclass(frozen=True)
class TileConfig:
    """Array geometry and arithmetic precision (elaboration-time)."""
    rows: int = int_field(1, 1024, "wordlines (rows of the crossbar)")
    cols: int = int_field(1, 256, "logical output columns")
    in_bits: int = int_field(1, 16, "input precision, two's complement, applied bit-serially "
                             "(the run-time maximum and reset value)")
    w_bits: int = int_field(2, 16, "weight precision including sign")
    bits_per_cell: int = int_field(1, 8, "levels per cell = 2**bits_per_cell")
    adc_bits: int = int_field(1, 16, "ADC resolution")
    adc_shift: int = int_field(0, 16, "ADC LSB = 2**adc_shift column counts (reset value of "
                               "the run-time setting)")
    cols_per_adc: int = int_field(1, 128, "physical columns multiplexed onto one ADC")
    # Column redundancy, as every memory ships with: spare physical columns that the column
    # remap table can substitute for any data column (0: none, the array of earlier configs).
    spare_cols: int = int_field(0, 256, "spare physical columns for column repair", 0)
    # Sample-and-hold pipelining (ISAAC, PUMA): the wordlines are released at the sample and
    # the next plane settles while the ADCs convert the held one (false: the schedule of
    # earlier configs, wordlines driven through every conversion).
    pipeline: bool = bool_field(False, "overlap the next plane's drive with the conversions")


@dataclass(frozen=True)
class TimingConfig:
    """Analog timing contract, in clock cycles, enforced by the RTL's counters."""
    t_settle: int = int_field(1, 1024, "cycles from wordline drive to sample-and-hold")
    t_adc: int = int_field(1, 1024, "cycles per ADC conversion (per step of adc_per_step "
                           "conversions)")
    # An ADC faster than the clock completes several conversions a cycle (1: the schedule
    # of configs written before this key).
    adc_per_step: int = int_field(1, 64, "conversions one ADC completes every t_adc cycles",
                                  1)


@dataclass(frozen=True)
class WriteVerifyConfig:
    """Run-time program-and-verify settings (NeuRRAM-style ISPP; EMBER keeps the same knobs).

    Amplitudes are pulse DAC codes (device.v_per_code volts each); the defaults start at
    0.8 V and step by 0.1 V, as NeuRRAM does, up to 2.0 V.
    """
    tol: int = int_field(0, 65535, "verify window half-width, ADC codes", 2)
    set_start: int = int_field(0, 255, "first SET amplitude, DAC codes", 80)
    set_step: int = int_field(1, 255, "SET amplitude increment per pulse", 10)
    set_limit: int = int_field(0, 255, "largest SET amplitude", 200)
    reset_start: int = int_field(0, 255, "first RESET amplitude, DAC codes", 80)
    reset_step: int = int_field(1, 255, "RESET amplitude increment per pulse", 10)
    reset_limit: int = int_field(0, 255, "largest RESET amplitude", 200)
    max_pulses: int = int_field(1, 255, "pulses per cell before it is declared failed", 64)
    pulse_width: int = int_field(1, 65535, "pulse width, cycles", 10)


@dataclass(frozen=True)
class HostConfig:
    """Host-interface widths (elaboration-time)."""
    data_width: int = int_field(32, 1024, "AXI4-Stream TDATA width, bits (a multiple of 32, "
                                "so a beat holds whole per-cell results)", 64)
    # The default is the depth of configs written before this key. One vector more than the
    # tile computes keeps its ADCs busy whenever the host streams faster than an MVM.
    input_fifo_vectors: int = int_field(1, 64, "input vectors the host interface's input "
                                        "FIFO holds", 8)

