"""Alias of :mod:`jdmstats.evidence.schema`, kept so that ``import jdmstats.schema`` works for one release.

The module lives in its layer now; new code should import :mod:`jdmstats.evidence.schema`.
"""

import sys

from jdmstats.evidence import schema as _module

sys.modules[__name__] = _module
