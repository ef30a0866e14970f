"""Layer 5, outputs: which tables and figures each question writes, and running them.

* :mod:`~jdmstats.outputs.steps` — one step per question: compute (layer 3), draw (layer 4), write
* :mod:`~jdmstats.outputs.tables` — the deterministic CSV writer
* :mod:`~jdmstats.outputs.manifest` — data fingerprints, versions, MANIFEST.json, warnings.csv
* :mod:`~jdmstats.outputs.progress` — progress display (terminal bars, log lines)
* :mod:`~jdmstats.outputs.runner` — ``jdmstats run``: data resolution, steps, parallel workers
"""
