"""Alias of :mod:`jdmstats.outputs.runner`, kept so that ``import jdmstats.pipeline`` works for
one release. New code should import from :mod:`jdmstats.outputs`.
"""

import sys

from jdmstats.outputs import runner as _module

sys.modules[__name__] = _module
