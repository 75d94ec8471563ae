"""``python -m rag_claimcheck.gc``: the command lives in :mod:`rag_claimcheck.commands.gc`; this name stays for existing scripts."""

import sys

from rag_claimcheck.commands import gc as _moved

if __name__ == "__main__":
    sys.exit(_moved.main())
sys.modules[__name__] = _moved
