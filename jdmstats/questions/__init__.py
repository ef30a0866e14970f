"""Layer 3, questions: pure functions from harmonised tables to result objects.

* :mod:`~jdmstats.questions.descriptive` — what the evidence is (studies by country, decade, ...)
* :mod:`~jdmstats.questions.prevalence` — Q1, how common calcinosis is
* :mod:`~jdmstats.questions.delay` — Q2, diagnostic delay and calcinosis
* :mod:`~jdmstats.questions.response` — Q3, response and time to regression per therapy
* :mod:`~jdmstats.questions.prisma` — PRISMA 2020 flow counts

They use the engines (:mod:`jdmstats.meta`, :mod:`jdmstats.survival`, :mod:`jdmstats.firth`)
and never write files, draw figures or report progress (the outputs layer does).
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
