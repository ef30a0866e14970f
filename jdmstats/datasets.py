"""Alias of :mod:`jdmstats.evidence.datasets`, kept so that ``import jdmstats.datasets`` works for one release.

The module lives in its layer now; new code should import :mod:`jdmstats.evidence.datasets`.
"""

import sys

from jdmstats.evidence import datasets as _module

sys.modules[__name__] = _module
