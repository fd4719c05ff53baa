"""The whole tile description, :class:`Config`: its tables, and the figures derived from
them that the RTL, the models and the flows share (slices, columns, ADCs, cycles, widths).
"""

import dataclasses
import math
from dataclasses import dataclass

from .config_adc import AdcConfig
from .config_fields import build_table
from .config_physics import AnalogConfig, DeviceConfig, PpaConfig
from .config_tables import HostConfig, TileConfig, TimingConfig, WriteVerifyConfig

__all__ = ["Config"]


@dataclass(frozen=True)
class Config:
    """A whole tile description, with the quantities derived from it."""
    tile: TileConfig
    timing: TimingConfig
    analog: AnalogConfig = AnalogConfig()
    device: DeviceConfig = DeviceConfig()
    write_verify: WriteVerifyConfig = WriteVerifyConfig()
    host: HostConfig = HostConfig()
    ppa: PpaConfig = PpaConfig()
    adc: AdcConfig = AdcConfig()

    def __post_init__(self):
        # The device reads the analog window, however the Config was made (parsed, built
        # directly or by dataclasses.replace).
        a = self.analog
        device = dataclasses.replace(self.device)
        object.__setattr__(device, "_shared",
                           (a.g_min, a.g_max, a.v_read, 1e-6 / self.ppa.clock_mhz))
        object.__setattr__(self, "device", device)

    @property
    def slices(self):
        """Cells per weight magnitude: ceil((w_bits - 1) / bits_per_cell)."""
        return math.ceil((self.tile.w_bits - 1) / self.tile.bits_per_cell)

    @property
    def cols_data(self):
        """Data columns: every logical column has `slices` differential pairs."""
        return self.tile.cols * self.slices * 2

    @property
    def cols_phys(self):
        """Physical columns: the data columns, then the spares."""
        return self.cols_data + self.tile.spare_cols

    @property
    def n_adcs(self):
        return math.ceil(self.cols_phys / self.tile.cols_per_adc)

    @property
    def max_level(self):
        return 2 ** self.tile.bits_per_cell - 1

    @property
    def max_code(self):
        return 2 ** self.tile.adc_bits - 1

    @property
    def adc_rate_msps(self):
        """Conversions per second of one ADC, in millions: adc_per_step every t_adc cycles."""
        return self.ppa.clock_mhz * self.timing.adc_per_step / self.timing.t_adc

    @property
    def conversion_cycles(self):
        """Cycles the ADCs take to convert one plane: each its columns in turn, adc_per_step
        of them every t_adc cycles."""
        return -(-self.tile.cols_per_adc // self.timing.adc_per_step) * self.timing.t_adc

    @property
    def plane_cycles(self):
        """Cycles from one plane's sample to the next in steady state. Unpipelined: settle,
        then convert, wordlines driven throughout. Pipelined: the next plane is driven for
        t_settle cycles and sampled once the held plane's conversions end, so the slower
        of the drive (t_settle + the sample cycle) and the conversions sets the pace."""
        if self.tile.pipeline:
            return max(self.timing.t_settle + 1, self.conversion_cycles)
        return self.timing.t_settle + self.conversion_cycles

    @property
    def drive_cycles(self):
        """Cycles a plane's wordlines are driven: to its sample if pipelined (the
        sample-and-hold keeps the columns), else to its last conversion."""
        if self.tile.pipeline:
            return self.timing.t_settle + 1
        return self.timing.t_settle + self.conversion_cycles

    @property
    def analog_cycles_per_mvm(self):
        """Steady-state cycles per MVM (back to back, output not back-pressured)."""
        return self.tile.in_bits * self.plane_cycles

    @property
    def result_latency(self):
        """Most cycles from a vector's acceptance into an empty tile (or the previous
        result's departure) to its result's, output ready: the planes, then the input
        buffer, the load, the accumulate command and the output buffer (4 cycles), and
        pipelined one more, the conversions starting from the held codes the cycle after
        the sample."""
        t_settle, planes = self.timing.t_settle, self.tile.in_bits
        tail = t_settle + self.conversion_cycles
        if self.tile.pipeline:
            return (planes - 1) * self.plane_cycles + tail + 5
        return (planes - 1) * self.plane_cycles + tail + 4

    @property
    def adc_shift_max(self):
        """Largest run-time adc_shift: the configured one, or the smallest at which the largest
        column count no longer clips (at most 16), if larger. A coarser step would only lose
        precision."""
        count = self.tile.rows * self.max_level
        cover = next(s for s in range(17) if (2 * self.max_code + 1) << s > 2 * count
                     or s == 16)
        return max(self.tile.adc_shift, cover)

    @property
    def result_width(self):
        """Signed width that holds any result this tile can produce at any run-time setting
        (any code at the largest adc_shift, as a physical ADC can return any code)."""
        t = self.tile
        reading = self.max_code << self.adc_shift_max
        per_plane = sum(reading << (s * t.bits_per_cell) for s in range(self.slices))
        bound = (2 ** t.in_bits - 1) * per_plane
        return bound.bit_length() + 1

    @property
    def lossless(self):
        """True when the ADC never rounds or clips, so results equal X @ W exactly."""
        return (self.tile.adc_shift == 0
                and self.tile.rows * self.max_level <= self.max_code)

    def replace(self, **tile_fields):
        """A copy with some `[tile]` fields changed (validated)."""
        values = dataclasses.asdict(self.tile) | tile_fields
        return dataclasses.replace(self, tile=build_table(TileConfig, "tile", values))

    def at(self, in_bits=None, adc_shift=None):
        """The config at the run-time settings `in_bits` and `adc_shift` (None: the
        configured value): the one place their defaults are resolved."""
        if in_bits is None and adc_shift is None:
            return self
        return self.replace(in_bits=self.tile.in_bits if in_bits is None else in_bits,
                            adc_shift=self.tile.adc_shift if adc_shift is None else adc_shift)
