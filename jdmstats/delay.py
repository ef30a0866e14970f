"""Alias of :mod:`jdmstats.questions.delay`, kept so that ``import jdmstats.delay`` works for one release.

The module lives in its layer now; new code should import :mod:`jdmstats.questions.delay`.
"""

import sys

from jdmstats.questions import delay as _module

sys.modules[__name__] = _module
