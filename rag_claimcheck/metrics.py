"""Moved to :mod:`rag_claimcheck.observe.metrics`; this name stays for existing imports."""

import sys

from rag_claimcheck.observe import metrics as _moved

sys.modules[__name__] = _moved
