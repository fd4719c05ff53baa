"""A physical memristor array: the dynamic memdiode model answering pulses and verify reads."""

import numpy as np

__all__ = ["HEALTHY", "STUCK_GMIN", "STUCK_GMAX", "MemdiodeArray", "read_code"]

HEALTHY, STUCK_GMIN, STUCK_GMAX = 0, 1, 2

# Gauss-Legendre nodes and weights on [-1, 1] for the pulse-energy integral, and the
# segment edges in units of the state's relaxation time (the last one is the pulse's end).
_GAUSS = np.polynomial.legendre.leggauss(8)
_EDGES = np.array([0, 0.25, 0.5, 1, 2, 4, 8, 16, 32, np.inf])


def read_code(conductance, window, adc_bits):
    """Verify-read ADC code of conductances: ``window`` (g_lo, g_hi) spans the code range,
    rounded half up and clipped, like the tile's ADC."""
    g_lo, g_hi = window
    max_code = 2 ** adc_bits - 1
    scaled = (np.asarray(conductance) - g_lo) * (max_code / (g_hi - g_lo))
    return np.clip(np.floor(scaled + 0.5), 0, max_code).astype(np.int64)


class MemdiodeArray:
    """Every cell of a crossbar as a memdiode with state lambda in [0, 1].

    A pulse of amplitude V and duration t moves lambda along the model's rate equation,
    solved exactly for a constant amplitude: SET gives ``1 - (1 - l) exp(-t / tau_S)``,
    RESET ``l exp(-t / tau_R)``, so steps shrink near the bounds. Each device switches at its
    own rate (device-to-device lognormal factor, drawn once) and each pulse's effect varies
    (cycle-to-cycle lognormal factor). Stuck cells hold lambda at 0 or 1 and ignore pulses.

    Reproducibility does not depend on the order cells are programmed in: the cycle-to-cycle
    factor of a cell's k-th pulse is column k of a table drawn one whole-array column at a
    time, in order of k. A co-simulation that programs cell by cell and a golden model that
    steps all cells together therefore see identical noise.

    Parameters
    ----------
    device : DeviceConfig
    shape : (rows, cols_phys)
    rng : numpy.random.Generator
    faults : integer array of ``shape``, optional
        0 healthy, 1 stuck at g_min (lambda 0), 2 stuck at g_max (lambda 1).

    Members
    -------
    pulse_energy : numpy.ndarray
        Energy each cell has taken from its pulses, pJ (flat): the integral of the pulse
        voltage times the model's current over each pulse, as the state moves.
    pulse_volts_sq : numpy.ndarray
        Sum of each cell's squared pulse amplitudes, V**2 (flat): what the pulse drivers
        charge the lines to.
    verify_reads : numpy.ndarray
        Verify reads of each cell (flat).
    read_conductance : numpy.ndarray
        Sum of each cell's conductance over its verify reads, uS (flat): times the read
        voltage squared and the read time, the energy its reads took.
    """

    def __init__(self, device, shape, rng, faults=None):
        self.device = device
        self.shape = tuple(shape)
        size = int(np.prod(self.shape))
        d2d_rng, self._c2c_rng = rng.spawn(2)
        self.rate = np.exp(device.d2d_sigma * d2d_rng.standard_normal(size))
        self.state = np.full(size, device.initial_state)
        self.faults = (np.zeros(size, np.int64) if faults is None
                       else np.asarray(faults, np.int64).reshape(size).copy())
        self.state[self.faults == STUCK_GMIN] = 0.0
        self.state[self.faults == STUCK_GMAX] = 1.0
        self.pulses_applied = np.zeros(size, np.int64)
        self.pulse_energy = np.zeros(size)
        self.pulse_volts_sq = np.zeros(size)
        self.verify_reads = np.zeros(size, np.int64)
        self.read_conductance = np.zeros(size)
        self._c2c = np.empty((16, size))
        self._c2c_drawn = 0
        #: Conductance (uS) of a nominal device at lambda 0 and 1: the programming window,
        #: which is the analog read window (see
        #: :class:`~cimtile.spec.config_physics.DeviceConfig`).
        self.window = (device.g_min, device.g_max)

    def conductance_of(self, state):
        """Read conductance (uS) at the read voltage for states lambda."""
        d = self.device
        return self.current_at(state, d.v_read) / d.v_read

    def current_at(self, state, volts):
        """Current (uA) through devices in states lambda with `volts` across device and
        series resistance."""
        d = self.device
        i0 = d.i_min + (d.i_max - d.i_min) * np.asarray(state, np.float64)     # uA
        current = np.zeros(np.broadcast_shapes(i0.shape, np.shape(volts)))
        # The series resistance lowers the voltage across the diode by I * r_s: Newton's
        # method on I - I0 h(V - I r_s) = 0 converges in a few steps from I = 0 (h is
        # monotonic and I r_s stays below V).
        r = d.r_s * 1e-6                                                      # V per uA
        a, b = d.alpha, d.beta
        for _ in range(6):
            v = volts - current * r
            up, down = np.exp(b * a * v), np.exp(-(1 - b) * a * v)
            residual = current - i0 * (up - down)
            slope = 1 + i0 * r * a * (b * up + (1 - b) * down)
            current = current - residual / slope
        return current

    def conductances(self):
        """Conductance (uS) of every cell, shaped like the array."""
        return self.conductance_of(self.state).reshape(self.shape)

    def read(self, cells, adc_bits):
        """Verify-read codes of flat cell indices ``cells`` (all distinct)."""
        conductance = self.conductance_of(self.state[cells])
        self.verify_reads[cells] += 1
        self.read_conductance[cells] += conductance
        return read_code(conductance, self.window, adc_bits)

    def _draw_c2c_until(self, k):
        while self._c2c_drawn <= k:
            if self._c2c_drawn == len(self._c2c):
                self._c2c = np.concatenate([self._c2c, np.empty_like(self._c2c)])
            self._c2c[self._c2c_drawn] = self._c2c_rng.standard_normal(self.state.size)
            self._c2c_drawn += 1

    def pulse(self, cells, polarity, amplitude, width):
        """Apply one pulse to each of the flat cell indices ``cells`` (all distinct).

        Parameters
        ----------
        polarity : array of 0 (SET) / 1 (RESET)
        amplitude : array of pulse DAC codes
        width : array of pulse widths in cycles
        """
        d = self.device
        cells = np.asarray(cells)
        k = self.pulses_applied[cells]
        self._draw_c2c_until(k.max() if k.size else -1)
        factor = self.rate[cells] * np.exp(d.c2c_sigma * self._c2c[k, cells])
        volts = np.asarray(amplitude) * d.v_per_code
        seconds = np.asarray(width) * d.cycle_s
        reset = np.asarray(polarity) == 1
        tau = d.tau0 * np.where(reset, np.exp(-d.eta_res * (volts - d.v_res)),
                                np.exp(-d.eta_set * (volts - d.v_set)))
        decay = np.exp(-seconds / tau * factor)
        state = self.state[cells]
        healthy = self.faults[cells] == HEALTHY
        moved = np.where(reset, state * decay, 1 - (1 - state) * decay)
        self.pulse_energy[cells] += self._pulse_energy(
            state, np.where(healthy, factor / tau, 0.0), reset, np.where(reset, -volts, volts),
            seconds)
        self.pulse_volts_sq[cells] += volts ** 2
        self.state[cells] = np.where(healthy, moved, state)
        self.pulses_applied[cells] += 1

    def _pulse_energy(self, state, rate, reset, volts, seconds):
        """Energy (pJ) of pulses of `volts` lasting `seconds` while lambda relaxes at `rate`
        (1/s) from `state`: V I(lambda(t)) integrated by Gauss-Legendre quadrature on
        segments that widen geometrically in units of 1 / rate, so a state that settles in a
        small part of the pulse is resolved as well as one that moves throughout."""
        nodes, weights = _GAUSS
        seconds = np.broadcast_to(np.asarray(seconds, np.float64), np.shape(state))
        rate = np.asarray(rate, np.float64)
        # A stuck cell does not move: any finite scale spans its pulse.
        scale = seconds / np.where(rate > 0, rate * seconds, 1.0)
        edges = np.minimum(scale[:, None] * _EDGES, seconds[:, None])
        edges[:, -1] = seconds
        start, width = edges[:, :-1, None], np.diff(edges, axis=1)[..., None]
        t = start + width * (nodes + 1) / 2                     # (cells, segments, nodes)
        decay = np.exp(-np.asarray(rate)[:, None, None] * t)
        lam = np.asarray(state)[:, None, None]
        moving = np.where(np.asarray(reset)[:, None, None], lam * decay,
                          1 - (1 - lam) * decay)
        v = np.asarray(volts)[:, None, None]
        power = v * self.current_at(moving, v)                        # uW
        return (power * width / 2 * weights).sum(axis=(1, 2)) * 1e6        # uW s -> pJ
