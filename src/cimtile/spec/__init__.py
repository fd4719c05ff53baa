"""The specification layer: what hardware, models, simulation and boards agree on.

The tile's configuration (:mod:`.config`), its register map (:mod:`.regmap`), the arithmetic
mapping of weights and inputs (:mod:`.mapping`), the host's register words
(:mod:`.host_driver`) and stream frames (:mod:`.axis_frames`), the reading and writing of
array files (:mod:`.npy_rows`, :mod:`.files`), and the processes of the machine
(:mod:`.processes`). Nothing here imports the rest of the package.
"""
