"""Alias of :mod:`jdmstats.evidence.harmonise`, kept so that ``import jdmstats.harmonise`` works for one release.

The module lives in its layer now; new code should import :mod:`jdmstats.evidence.harmonise`.
"""

import sys

from jdmstats.evidence import harmonise as _module

sys.modules[__name__] = _module
