"""Layer 1, evidence: the data model and everything that reads, checks and loads the data.

* :mod:`~jdmstats.evidence.schema` — tables, columns, units and vocabularies (single source of truth)
* :mod:`~jdmstats.evidence.harmonise` — extraction YAML → harmonised tables and datapackage.json
* :mod:`~jdmstats.evidence.checks` — the validation rules of the harmonised tables
* :mod:`~jdmstats.evidence.validate` — ``jdmstats validate``: check files or folders
* :mod:`~jdmstats.evidence.datasets` — typed loaders of the bundled (or a user's) data

Imports only :mod:`jdmstats.errors` and :mod:`jdmstats.results` from outside this layer.
"""
