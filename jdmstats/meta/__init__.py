"""Meta-analysis engine (see the submodules)."""
