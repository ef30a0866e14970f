"""Alias of :mod:`jdmstats.questions.prevalence`, kept so that ``import jdmstats.prevalence`` works for one release.

The module lives in its layer now; new code should import :mod:`jdmstats.questions.prevalence`.
"""

import sys

from jdmstats.questions import prevalence as _module

sys.modules[__name__] = _module
