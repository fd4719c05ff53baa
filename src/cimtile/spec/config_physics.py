"""The configuration tables of the physical models: the analog macro, the memristor and
the energy, latency and area figures, each default a published figure cited beside it.
"""

from dataclasses import dataclass

import numpy as np

from .config_fields import choice_field, float_field, int_field, real_table_field

__all__ = ["ANALOG_MODELS", "D2D_DISTRIBUTIONS", "LIBRARY_NODE_NM", "AnalogConfig",
           "DeviceConfig", "PpaConfig"]


# The read window's and the clock's defaults, cited where [analog] and [ppa] declare them.
_G_MIN, _G_MAX, _V_READ = 0.75, 40.0, 0.2
_CLOCK_MHZ = 100.0


@dataclass(frozen=True)
class DeviceConfig:
    """Dynamic memdiode model of one memristor (Miranda et al.; Aguirre et al., Front. Phys.
    9, 548, 2021). State lambda in [0, 1]; read current
    I = I0(lambda) [exp(beta alpha (V - I r_s)) - exp(-(1 - beta) alpha (V - I r_s))],
    I0 = i_min + (i_max - i_min) lambda; during a pulse of amplitude V,
    dlambda/dt = (1 - lambda) / tau_S (SET) or -lambda / tau_R (RESET), with
    tau_S = tau0 exp(-eta_set (V - v_set)) and tau_R = tau0 exp(-eta_res (V - v_res)).

    The conductance window is not a device key: ``g_min``, ``g_max`` and ``v_read`` are the
    ``[analog]`` values, and the clock period ``cycle_s`` (the pulse-width unit) is
    ``[ppa] clock_mhz``'s; :class:`Config` attaches them to its device (a table built on its
    own has their defaults), and the current prefactors ``i_min``, ``i_max`` follow from
    them. So the device that write-verify programs reads exactly ``g_min`` at
    lambda 0 and ``g_max`` at lambda 1, the window the crossbar, the wires and the energy
    model read. Being no field, the window stays out of ``dataclasses.asdict``, and a
    configuration written out and parsed again keeps one source.
    """
    # Series resistance and I-V shape: the fitted HfO2 device of Aguirre et al. 2021.
    r_s: float = float_field(30.0, 0, 1e6, "series resistance, ohm")
    alpha: float = float_field(5.0, 0, 100, "I-V exponent, 1/V", open_low=True)
    beta: float = float_field(0.5, 0, 1, "I-V asymmetry (0.5 = symmetric, as in the source)")
    # Switching kinetics: amplitudes near v_set / |v_res| switch in about tau0, each 0.1 V
    # more (NeuRRAM's ISPP increment) about e times faster.
    eta_set: float = float_field(10.0, 0, 100, "SET voltage sensitivity, 1/V", open_low=True)
    eta_res: float = float_field(10.0, 0, 100, "RESET voltage sensitivity, 1/V",
                                 open_low=True)
    v_set: float = float_field(1.0, 0, 10, "SET threshold, V", open_low=True)
    v_res: float = float_field(1.0, 0, 10, "RESET threshold magnitude, V", open_low=True)
    tau0: float = float_field(1e-6, 0, 1, "switching time at threshold, s", open_low=True)
    v_per_code: float = float_field(0.01, 0, 1, "pulse DAC step, V per amplitude code",
                                    open_low=True)
    # Variability: device-to-device sigma 0.05-0.3 is the range swept in the literature.
    d2d_sigma: float = float_field(0.1, 0, 2, "lognormal sigma of each device's switching rate")
    c2c_sigma: float = float_field(0.05, 0, 2, "lognormal sigma of each pulse's effect")
    initial_state: float = float_field(0.0, 0, 1, "lambda of a fresh device (0 = HRS)")
    _shared = (_G_MIN, _G_MAX, _V_READ, 1e-6 / _CLOCK_MHZ)

    @property
    def g_min(self):
        """Read conductance at lambda 0, uS (``analog.g_min``)."""
        return self._shared[0]

    @property
    def g_max(self):
        """Read conductance at lambda 1, uS (``analog.g_max``)."""
        return self._shared[1]

    @property
    def v_read(self):
        """Read voltage, V (``analog.v_read``)."""
        return self._shared[2]

    @property
    def cycle_s(self):
        """Clock period, s: the pulse-width unit (``1 / ppa.clock_mhz``)."""
        return self._shared[3]

    def _diode(self, volts):
        """I / I0 of the diode alone at `volts` across it."""
        return (np.exp(self.beta * self.alpha * volts)
                - np.exp(-(1 - self.beta) * self.alpha * volts))

    def _prefactor(self, g):
        """I0 (uA) whose read current at v_read is ``g * v_read``: the series drop is known
        once the current is, so the inversion is exact."""
        current = g * self.v_read                                    # uA
        return float(current / self._diode(self.v_read - current * 1e-6 * self.r_s))

    @property
    def i_min(self):
        """I0 at lambda 0, uA."""
        return self._prefactor(self.g_min)

    @property
    def i_max(self):
        """I0 at lambda 1, uA."""
        return self._prefactor(self.g_max)



ANALOG_MODELS = ("ideal", "physical")
D2D_DISTRIBUTIONS = ("normal", "lognormal")


@dataclass(frozen=True)
class AnalogConfig:
    """Behaviour of the analog macro (crossbar and ADCs).

    ``model = "ideal"`` follows the arithmetic contract exactly and ignores every other key.
    ``model = "physical"`` maps cell levels to conductances and applies the effects below;
    each defaults to a figure from the literature (cited beside it) and switches off at 0.
    Units: conductances in uS, voltages in V, resistances in ohm, times in s, currents in uA,
    ADC quantities in LSB of the ADC.
    """
    model: str = choice_field("ideal", ANALOG_MODELS, "ideal or physical")
    # Read voltage 0.1-0.2 V keeps reads non-disturbing (memdiode model, Aguirre et al.,
    # Front. Phys. 9, 735021, 2021).
    v_read: float = float_field(_V_READ, 0, 10, "wordline read voltage, V", open_low=True)
    # g_max 40 uS: NeuRRAM's RRAM (Wan et al., Nature 608, 504, 2022). g_min keeps the
    # on/off ratio of the fitted memdiode, Imax / Imin = 95.8 / 1.8 uA (Aguirre et al. 2021).
    # This is the tile's one conductance window: write-verify's memdiode takes its current
    # prefactors from it (DeviceConfig), and reads, IR drop and energy use it.
    g_min: float = float_field(_G_MIN, 0, 10**6, "conductance of level 0, uS")
    g_max: float = float_field(_G_MAX, 0, 10**6, "conductance of the top level, uS",
                               open_low=True)
    # Device-to-device sigma 0.05-0.3 is the range swept in memristive-array studies
    # (review: Aguirre et al., Nat. Commun. 15, 1974, 2024); 0.05 is its low end, what
    # program-and-verify leaves. Gaussian programming error clipped at 0 as in aihwkit.
    d2d_sigma: float = float_field(0.05, 0, 2, "relative sigma of programmed conductance")
    d2d_distribution: str = choice_field("normal", D2D_DISTRIBUTIONS,
                                         "normal (clipped at 0) or lognormal (median kept)")
    # Short-term RRAM read noise about 1 % (aihwkit's ReRamWan2022NoiseModel, fitted to
    # Wan et al. 2022).
    read_noise: float = float_field(0.01, 0, 1, "relative sigma of a cell's conductance, "
                                    "fresh on every read")
    # G(t) = G0 ((t + t0) / t0) ** -nu; nu 0.049-0.1 with spread 0.008-0.045 and t0 = 20 s
    # (aihwkit's PCMLikeNoiseModel, Nandakumar et al., ICECS 2019). drift_time 0 reads right
    # after programming; set it to study retention.
    drift_nu: float = float_field(0.05, 0, 1, "mean drift exponent nu")
    drift_nu_sigma: float = float_field(0.01, 0, 1, "device-to-device sigma of nu")
    drift_t0: float = float_field(20.0, 0, 10**12, "drift reference time t0, s",
                                  open_low=True)
    drift_time: float = float_field(0.0, 0, 10**12, "time since programming, s")
    # Stuck-at-fault ratios of 1-2 % are the usual study default; of the faults measured on a
    # 4 Mb HfO2 chip, 1.75 % SA0 and 9.04 % SA1, 16 % are stuck at g_min (Chen et al., IEEE
    # Trans. Comput. 64, 180, 2015).
    fault_rate: float = float_field(0.01, 0, 1, "fraction of stuck cells")
    fault_sa0_fraction: float = float_field(0.16, 0, 1, "fraction of stuck cells stuck at "
                                            "g_min (SA0); the rest stick at g_max (SA1)")
    # Line resistance is about 0.1-3 ohm per cell segment in modern arrays (Aguirre et al.
    # 2021 study its effect on cross-point arrays); 1 ohm lies inside that range.
    r_wl: float = float_field(1.0, 0, 10**6, "wordline resistance per cell segment, ohm")
    r_bl: float = float_field(1.0, 0, 10**6, "bitline resistance per cell segment, ohm")
    # Read-out chain. The TIA and ADC reference together set the full-scale current; 0 matches
    # it to the digital reconstruction (one LSB = 2**adc_shift level counts at v_read).
    adc_full_scale: float = float_field(0.0, 0, 10**9, "ADC full-scale input current, uA "
                                        "(0: matched to adc_shift)")
    # Column ADCs are trimmed for offset and gain, as ISAAC and PUMA assume.
    adc_offset: float = float_field(0.0, -10**6, 10**6, "input-referred offset, LSB")
    adc_gain_error: float = float_field(0.0, -0.9, 1.0, "relative gain error")
    # SAR capacitor-DAC mismatch per unit capacitor, drawn once per ADC; 1 % gives a 10-bit
    # SAR mid-code DNL of about 0.3 LSB sigma, as measured on one (Son and Jang, "A 10-bit
    # 10-MS/s single-ended asynchronous SAR ADC ...", IEICE Electron. Express: DNL
    # +0.93/-0.51 LSB, INL +0.61/-0.81 LSB, ENOB 9.04).
    adc_cap_mismatch: float = float_field(0.01, 0, 1, "relative sigma of the SAR DAC's "
                                          "unit capacitor")
    adc_inl: tuple = real_table_field(-65536, 65536, "static error of each code "
                                      "transition 1..max_code, LSB (empty: none)")
    # SAR ADCs are sized so that thermal noise stays near the quantisation noise,
    # 1/sqrt(12) = 0.29 LSB rms; the 10-bit SAR above has 0.48 LSB rms of noise and
    # distortion together (ENOB 9.04).
    adc_noise: float = float_field(0.3, 0, 10**6, "input-referred noise, LSB rms, fresh on "
                                   "every conversion")

    @property
    def physical(self):
        return self.model == "physical"


#: Node of the digital and memory figures' sources (NanGate 45 nm Open Cell Library,
#: OpenRAM's FreePDK45 macros); :func:`cimtile.flows.ppa.figures.figures` scales them to
#: ``node_nm``.
LIBRARY_NODE_NM = 45.0


@dataclass(frozen=True)
class PpaConfig:
    """Technology, clock and per-event figures of the energy, latency and area model.

    The ADC is the ``[adc]`` table's (:class:`~cimtile.spec.config_adc.AdcConfig`); the
    other analog figures are ISAAC's (Shafiee et al., ISCA 2016, Table I), at its 32 nm node;
    the digital and memory figures are published at 45 nm (:data:`LIBRARY_NODE_NM`) and
    scaled to ``node_nm`` at a constant supply: areas by ``(node_nm / 45)**2``, switching,
    access and leakage energies by ``node_nm / 45`` (capacitance and device width, hence
    leakage current, shrink with the feature size). Energies are per event; the model
    multiplies them by the events a run counted.
    """
    node_nm: float = float_field(32.0, 0, 1000, "technology node (feature size F), nm",
                                 open_low=True)
    # 100 MHz: the 10 ns pulse-width unit write-verify is specified in. ISAAC clocks its
    # digital units at 1.2 GHz; latency, throughput and leakage follow whatever is set.
    clock_mhz: float = float_field(_CLOCK_MHZ, 0, 10**5, "clock frequency, MHz (also the "
                                   "write-verify pulse-width unit)", open_low=True)
    # ISAAC Table I: 8 x 128 one-bit DACs take 4 mW and 170 um2 at one crossbar read per
    # 100 ns: 0.39 pJ per driven wordline per read, 0.166 um2 each.
    wl_drive_pj: float = float_field(0.391, 0, 10**6, "wordline driver (1-bit DAC) energy "
                                     "per driven row per bit plane, pJ")
    dac_area_um2: float = float_field(0.166, 0, 10**6, "area of one wordline driver, um2")
    # ISAAC Table I: 8 x 128 sample-and-holds take 10 uW and 40 um2: 0.98 fJ per column per
    # read, 0.039 um2 each.
    sh_energy_fj: float = float_field(0.977, 0, 10**9, "sample-and-hold energy per column "
                                      "per bit plane, fJ")
    sh_area_um2: float = float_field(0.039, 0, 10**6, "area of one sample-and-hold, um2")
    # 4 F2 is the cross-point (1R) cell's minimum; a 1T1R cell is larger (set it here).
    cell_area_f2: float = float_field(4.0, 0, 10**6, "area of one cell, F2", open_low=True)
    # Digital periphery at 45 nm, NanGate 45 nm Open Cell Library, typical corner (1.1 V,
    # 25 C): a NAND2_X1 (one gate equivalent) is 0.798 um2; a transition charges about
    # three NAND2 input loads of 1.6 fF, C V**2 / 2 = 2.9 fJ; leakage 14.4 nW, the
    # library's INV_X1 (the same order as its NAND2_X1). All three scale with node_nm.
    ge_area_um2: float = float_field(0.798, 0, 10**6, "area of one gate equivalent (NAND2) "
                                     "at 45 nm, um2", open_low=True)
    ge_toggle_fj: float = float_field(2.9, 0, 10**6, "energy per gate-equivalent output "
                                      "transition at 45 nm, fJ")
    ge_leak_nw: float = float_field(14.4, 0, 10**6, "leakage per gate equivalent at 45 nm, "
                                    "nW")
    # SRAM macro at 45 nm: OpenRAM's FreePDK45 sram_1rw_32b_256w_1bank (8 Kbit, typical
    # corner, 1.0 V, 25 C; VLSIDA/OpenRAM, lib/freepdk45/lib/
    # sram_1rw_32b_256w_1bank_freepdk45_TT_1p0V_25C.lib): area 12,335 um2, 1.506 um2 per
    # bit; leakage 40.3 uW, 4.92 nW per bit. The clock pin's internal_power is no Liberty
    # energy: OpenRAM's characteriser (compiler/characterizer/lib.py and delay.py of the
    # time) wrote the average power, in mW, of one access cycle simulated at its 5.0 ns
    # feasible period (the macro's log; not the 2.109 ns minimum period found later), half
    # on the clock's rise and half on its fall, the whole array's leakage included. A write
    # is then (2 x 0.0645 - 0.0403) mW x 5 ns = 0.443 pJ per 32-bit word, a read
    # (2 x 0.0771 - 0.0403) mW x 5 ns = 0.569 pJ: 13.9 and 17.8 fJ per bit.
    sram_bit_um2: float = float_field(1.506, 0, 10**6, "SRAM macro area per bit at 45 nm, "
                                      "um2", open_low=True)
    sram_write_fj: float = float_field(13.86, 0, 10**6, "SRAM write energy per bit at 45 nm, "
                                       "fJ")
    sram_read_fj: float = float_field(17.79, 0, 10**6, "SRAM read energy per bit at 45 nm, "
                                      "fJ")
    sram_leak_nw: float = float_field(4.92, 0, 10**6, "SRAM leakage per bit at 45 nm, nW")
    # A design choice, not a published figure: below about a kilobit a macro's decoders and
    # sense amplifiers outweigh its cells, and flip-flops are what a chip would use.
    sram_min_bits: int = int_field(1, 2**30, "memories of at least this many bits are "
                                   "SRAM macros, smaller ones flip-flops", 1024)
