"""Layer 1, evidence: the data model and everything that reads, checks and loads the data.

* :mod:`~jdmstats.evidence.schema` — tables, columns, units and vocabularies (single source of truth)
* :mod:`~jdmstats.evidence.harmonise` — extraction YAML → harmonised tables and datapackage.json
* :mod:`~jdmstats.evidence.checks` — the validation rules of the harmonised tables
* :mod:`~jdmstats.evidence.validate` — ``jdmstats validate``: check files or folders
* :mod:`~jdmstats.evidence.datasets` — typed loaders of the bundled (or a user's) data

Imports only :mod:`jdmstats.errors` and :mod:`jdmstats.results` from outside this layer.
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
