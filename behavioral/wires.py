"""IR drop: nodal analysis of a crossbar whose wordlines and bitlines have wire resistance.

Topology (docs/architecture.md, "Physical analog model"): the driver of row r sits left of
column 0 and reaches cell (r, 0) through one wordline segment, each further cell through one
more; the sense amplifier of column c (a virtual ground) sits below row rows-1 and is reached
from cell (rows-1, c) through one bitline segment. The top end of each bitline and the right
end of each wordline are open. An undriven row is held at 0 V by its driver.

With ohmic cells the network is linear, so column currents are a superposition over driven
rows: ``I[c] = sum_r v[r] T[r, c]``. :func:`transfer_matrix` factorises the nodal matrix once
and solves it for each row driven alone, which gives ``T`` for every later bit plane.
"""

import hashlib

import numpy as np

__all__ = ["MAX_NODES", "transfer_matrix", "clear_cache"]

#: Largest network solved (2 * rows * cols nodes); beyond it one factorisation takes minutes.
MAX_NODES = 2 ** 21

# Right-hand sides per triangular solve: SuperLU's blocked solve is fastest per column here.
_RHS_BLOCK = 16

_cache = {}
_CACHE_SIZE = 4


def _node_indices(rows, cols, r_wl, r_bl):
    """Unknown-node numbers of the wordline and bitline nodes (None where the nodes are
    fixed: wordlines at their drive voltage when r_wl is 0, bitlines at 0 V when r_bl is 0)."""
    count = rows * cols
    numbers = np.arange(count).reshape(rows, cols)
    wl = numbers if r_wl > 0 else None
    bl = (numbers + (count if wl is not None else 0)) if r_bl > 0 else None
    return wl, bl, count * ((wl is not None) + (bl is not None))


def _nodal_matrix(G, r_wl, r_bl, wl, bl, n):
    """Conductance matrix (uS) of the unknown nodes, in CSC form."""
    # scipy is imported where it is used: it takes a quarter of a second, which every
    # co-simulation would pay at start-up though most never solve a network.
    import scipy.sparse
    rows, cols = G.shape
    diag = np.zeros(n)
    i, j, v = [], [], []

    def couple(a, b, g):
        i.extend((a, b))
        j.extend((b, a))
        v.extend((-g, -g))

    # A cell joins its wordline node and its bitline node; a fixed end adds to the diagonal.
    for nodes in (wl, bl):
        if nodes is not None:
            np.add.at(diag, nodes.ravel(), G.ravel())
    if wl is not None and bl is not None:
        couple(wl.ravel(), bl.ravel(), G.ravel())
    if wl is not None:
        g = 1e6 / r_wl
        couple(wl[:, :-1].ravel(), wl[:, 1:].ravel(), np.full(rows * (cols - 1), g))
        np.add.at(diag, wl[:, :-1].ravel(), g)
        np.add.at(diag, wl[:, 1:].ravel(), g)
        diag[wl[:, 0]] += g  # the driver's segment
    if bl is not None:
        g = 1e6 / r_bl
        couple(bl[:-1].ravel(), bl[1:].ravel(), np.full((rows - 1) * cols, g))
        np.add.at(diag, bl[:-1].ravel(), g)
        np.add.at(diag, bl[1:].ravel(), g)
        diag[bl[-1]] += g  # the sense amplifier's segment
    i.append(np.arange(n))
    j.append(np.arange(n))
    v.append(diag)
    return scipy.sparse.csc_matrix((np.concatenate(v), (np.concatenate(i), np.concatenate(j))),
                                   shape=(n, n))


def _solve(G, r_wl, r_bl):
    rows, cols = G.shape
    wl, bl, n = _node_indices(rows, cols, r_wl, r_bl)
    if n > MAX_NODES:
        raise ValueError(f"IR drop: a {rows} x {cols} array has {n} nodes, more than "
                         f"{MAX_NODES} can be solved; set analog.r_wl and analog.r_bl to 0")
    import scipy.sparse.linalg
    # The matrix is symmetric positive definite: a symmetric ordering without pivoting keeps
    # the fill of a nested-dissection-like factor (with pivoting the solves run 10x slower).
    lu = scipy.sparse.linalg.splu(_nodal_matrix(G, r_wl, r_bl, wl, bl, n),
                                  permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0,
                                  options={"SymmetricMode": True})
    T = np.empty((rows, cols))
    for start in range(0, rows, _RHS_BLOCK):
        driven = np.arange(start, min(start + _RHS_BLOCK, rows))
        rhs = np.zeros((n, len(driven)))
        k = np.arange(len(driven))
        # Row r driven at 1 V, every other row at 0 V.
        if wl is not None:
            rhs[wl[driven, 0], k] = 1e6 / r_wl
        else:
            rhs[bl[driven].T, k] = G[driven].T
        x = lu.solve(rhs)
        if bl is not None:
            T[driven] = (x[bl[-1]] * (1e6 / r_bl)).T
        else:
            # Bitlines at 0 V: each cell's current goes straight to its sense amplifier.
            T[driven] = np.einsum("rc,rck->kc", G, x[wl])
    return T


def transfer_matrix(G, r_wl, r_bl):
    """Effective conductances of a crossbar with wire resistance.

    Parameters
    ----------
    G : float array, shaped (rows, cols)
        Cell conductances, uS.
    r_wl, r_bl : float
        Wordline and bitline resistance per cell segment, ohm; 0 for an ideal wire.

    Returns
    -------
    numpy.ndarray
        Read-only float64 ``T`` shaped (rows, cols), uS: with row voltages v (V), column c's
        sense amplifier receives ``sum_r v[r] T[r, c]`` uA. Equals `G` when both resistances
        are 0. Results for the last few arrays are cached, keyed by their contents.

    Raises
    ------
    ValueError
        If a resistance is negative, or the network has more than :data:`MAX_NODES` nodes.
    """
    G = np.ascontiguousarray(G, np.float64)
    if r_wl < 0 or r_bl < 0:
        raise ValueError(f"wire resistances must be non-negative, not r_wl={r_wl}, "
                         f"r_bl={r_bl}")
    if r_wl == 0 and r_bl == 0:
        T = G.copy()
        T.flags.writeable = False
        return T
    key = (G.shape, float(r_wl), float(r_bl), hashlib.sha256(G.tobytes()).digest())
    T = _cache.pop(key, None)
    if T is None:
        T = _solve(G, float(r_wl), float(r_bl))
        T.flags.writeable = False
    _cache[key] = T
    while len(_cache) > _CACHE_SIZE:
        del _cache[next(iter(_cache))]
    return T


def clear_cache():
    """Forget the cached transfer matrices (e.g. to time a solve)."""
    _cache.clear()
