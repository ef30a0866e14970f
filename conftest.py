"""Root pytest configuration (not part of the package)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent

# The top-level aliases (jdmstats/schema.py, ...) replace themselves by their layer's module:
# collecting doctests through them would run every doctest twice.
collect_ignore = [
    str(ROOT / "jdmstats" / f"{name}.py")
    for name in ("schema", "harmonise", "validate", "datasets", "descriptive", "prevalence",
                 "delay", "response", "pipeline")
]
