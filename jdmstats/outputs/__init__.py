"""Layer 5, outputs: which tables and figures each question writes, and running them.

* :mod:`~jdmstats.outputs.steps` — one step per question: compute (layer 3), draw (layer 4), write
* :mod:`~jdmstats.outputs.tables` — the deterministic CSV writer
* :mod:`~jdmstats.outputs.manifest` — data fingerprints, versions, MANIFEST.json, warnings.csv
* :mod:`~jdmstats.outputs.progress` — progress display (terminal bars, log lines)
* :mod:`~jdmstats.outputs.runner` — ``jdmstats run``: data resolution, steps, parallel workers
"""


def __getattr__(name: str):
    """Import submodules on first use (``jdmstats.<layer>.<module>``), keeping imports light."""
    import importlib

    if name.startswith("_"):
        raise AttributeError(name)
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
