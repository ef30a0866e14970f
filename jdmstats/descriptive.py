"""Alias of :mod:`jdmstats.questions.descriptive`, kept so that ``import jdmstats.descriptive`` works for one release.

The module lives in its layer now; new code should import :mod:`jdmstats.questions.descriptive`.
"""

import sys

from jdmstats.questions import descriptive as _module

sys.modules[__name__] = _module
