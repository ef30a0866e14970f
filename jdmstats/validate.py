"""Alias of :mod:`jdmstats.evidence.validate`, kept so that ``import jdmstats.validate`` works for one release.

The module lives in its layer now; new code should import :mod:`jdmstats.evidence.validate`.
"""

import sys

from jdmstats.evidence import validate as _module

sys.modules[__name__] = _module
