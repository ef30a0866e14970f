"""Alias of :mod:`jdmstats.questions.response`, kept so that ``import jdmstats.response`` works for one release.

The module lives in its layer now; new code should import :mod:`jdmstats.questions.response`.
"""

import sys

from jdmstats.questions import response as _module

sys.modules[__name__] = _module
