"""What crosses between the test process and the simulator: the exchange files, the ring-file entries, the packing of wide buses, the stimulus knobs and the run results."""
