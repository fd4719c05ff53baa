"""What the non-idealities cost a network: golden-model sweeps and the plots of a run.

The sweeps rerun the test set through the golden model on the tiles of a run (same seeds,
same programmed conductances), changing one read-out parameter. Fewer ADC bits need a
coarser ADC step: for every layer, the step (``adc_shift``) is the smallest that keeps the
99.9th percentile of the layer's ideal column counts on the held-out calibration set (at
most :data:`COUNT_ROWS` of its MVMs) below the top code, so only the calibration set, never
the test set, sets it.
"""

import dataclasses

import numpy as np

from cimtile.spec.mapping import bit_planes, weight_levels

from .network import accuracy, block_inputs, quant_forward
from .network_run import golden_layer_mvm

__all__ = ["ADC_BITS", "READ_NOISE", "COUNT_QUANTILE", "COUNT_ROWS", "calibrated_adc_shift",
           "sweeps", "plot_sweep", "plot_confusion", "plot_layer_errors", "plot_writers"]

ADC_BITS = (3, 4, 5, 6, 7, 8, 9, 10)
READ_NOISE = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
COUNT_QUANTILE = 0.999
#: The most MVMs of a layer whose column counts set its ADC step: a convolution makes one
#: per output pixel, and all of them would take gigabytes.
COUNT_ROWS = 20_000


def _layer_counts(tiles, qlayers, cfg, x_cal):
    """Per layer, the ideal column counts of its tiles on the calibration set (on at most
    :data:`COUNT_ROWS` of its MVMs, evenly spaced)."""
    counts = []

    def layer_mvm(l, Xq):
        sample = Xq[::-(-len(Xq) // COUNT_ROWS)]
        planes = [bit_planes(block_inputs(sample, t.block, cfg.tile.rows), cfg.tile.in_bits)
                  for t in tiles[l]]
        counts.append(np.concatenate([
            (p.astype(np.int64) @ weight_levels(t.block.W, cfg)[:, :cfg.cols_data]).reshape(-1)
            for p, t in zip(planes, tiles[l])]))
        return Xq @ qlayers[l].Wq
    quant_forward(qlayers, x_cal, cfg, layer_mvm)
    return counts


def calibrated_adc_shift(counts, adc_bits, quantile=COUNT_QUANTILE):
    """Smallest ``adc_shift`` whose top code covers `quantile` of the column `counts`."""
    top = np.quantile(counts, quantile) if len(counts) else 0
    shift = 0
    while (2 ** adc_bits - 1) * 2 ** shift < top:
        shift += 1
    return shift


def sweeps(cfg, tiles, qlayers, x_test, y_test, x_cal):
    """Golden-model accuracy of the run's tiles against ADC bits and against read noise.

    Returns
    -------
    dict
        ``adc_bits``: rows ``[bits, [adc_shift per layer], accuracy]``; ``read_noise``: rows
        ``[read_noise, accuracy]``.
    """
    counts = _layer_counts(tiles, qlayers, cfg, x_cal)

    def golden_accuracy(layer_cfg):
        out, _ = quant_forward(qlayers, x_test, cfg, golden_layer_mvm(tiles, cfg, layer_cfg))
        return accuracy(out, y_test)

    def tile_cfg(l):
        return tiles[l][0].cfg
    adc_rows = []
    for bits in ADC_BITS:
        shifts = [calibrated_adc_shift(c, bits) for c in counts]
        acc = golden_accuracy(lambda l: tile_cfg(l).replace(adc_bits=bits,
                                                            adc_shift=shifts[l]))
        adc_rows.append([bits, shifts, acc])
    noise_rows = []
    for noise in READ_NOISE:
        acc = golden_accuracy(lambda l: dataclasses.replace(
            tile_cfg(l), analog=dataclasses.replace(tile_cfg(l).analog, read_noise=noise)))
        noise_rows.append([noise, acc])
    return {"adc_bits": adc_rows, "read_noise": noise_rows}


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot
    return pyplot


def _save(figure, file):
    figure.tight_layout()
    figure.savefig(file, format="png", dpi=100)
    _pyplot().close(figure)


def plot_sweep(file, rows, xlabel, actual, report, log_x=False):
    """Accuracy against a swept read-out parameter, with the run's figures for reference."""
    pyplot = _pyplot()
    x = [row[0] for row in rows]
    y = [100 * row[-1] for row in rows]
    figure, axes = pyplot.subplots(figsize=(5.5, 4))
    axes.plot(x, y, marker="o", label="golden model, programmed tiles")
    axes.axhline(100 * report["quantized_accuracy"], color="gray", linestyle="--",
                 label="quantized network, exact")
    axes.axvline(actual, color="black", linewidth=0.8, label="this tile")
    if log_x:
        axes.set_xscale("symlog", linthresh=min(v for v in x if v > 0))
    axes.set(xlabel=xlabel, ylabel="test accuracy (%)", ylim=(0, 100),
             title=f"{report['images']} test images")
    axes.legend(loc="lower right")
    _save(figure, file)


def plot_confusion(file, predictions, labels, classes):
    """Confusion matrix of the co-simulated predictions."""
    pyplot = _pyplot()
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    figure, axes = pyplot.subplots(figsize=(5, 4.5))
    image = axes.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            axes.text(j, i, str(count), ha="center", va="center", fontsize=8,
                      color="white" if count > matrix.max() / 2 else "black")
    axes.set(xlabel="predicted (co-simulation)", ylabel="label", xticks=range(classes),
             yticks=range(classes),
             title=f"accuracy {100 * np.trace(matrix) / matrix.sum():.1f} %")
    figure.colorbar(image, ax=axes)
    _save(figure, file)


def plot_layer_errors(file, errors, ranges):
    """Per layer, histogram of co-simulated results less exact ``Xq @ Wq``, relative to the
    layer's largest exact magnitude."""
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(1, len(errors), figsize=(4.5 * len(errors), 3.5),
                                   squeeze=False)
    for l, (error, top, ax) in enumerate(zip(errors, ranges, axes[0])):
        relative = 100 * error.reshape(-1) / max(top, 1)
        ax.hist(relative, bins=60)
        rms = np.sqrt(np.mean(relative ** 2))
        ax.set(xlabel="error (% of largest |Xq @ Wq|)", ylabel="results",
               title=f"layer {l}: rms {rms:.2f} %")
    _save(figure, file)


def plot_writers(cfg, report, arrays, x_test, y_test, x_cal):
    """Run the sweeps (adding them to `report` as ``sweeps``) and return ``(file name,
    write(file))`` for every plot of a run."""
    tiles, qlayers = arrays["tiles"], arrays["qlayers"]
    report["sweeps"] = sweeps(cfg, tiles, qlayers, x_test, y_test, x_cal)
    classes = qlayers[-1].Wq.shape[1]
    return [
        ("accuracy_vs_adc_bits.png", lambda file: plot_sweep(
            file, report["sweeps"]["adc_bits"], "ADC bits", cfg.tile.adc_bits, report)),
        ("accuracy_vs_read_noise.png", lambda file: plot_sweep(
            file, report["sweeps"]["read_noise"], "read noise (relative sigma per cell)",
            cfg.analog.read_noise, report, log_x=True)),
        ("confusion.png", lambda file: plot_confusion(
            file, arrays["predictions"], arrays["labels"], classes)),
        ("layer_errors.png", lambda file: plot_layer_errors(
            file, arrays["layer_errors"], arrays["layer_ranges"])),
    ]
