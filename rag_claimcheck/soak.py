"""``python -m rag_claimcheck.soak``: the command lives in :mod:`rag_claimcheck.commands.soak`."""

import sys

from rag_claimcheck.commands import soak as _moved

if __name__ == "__main__":
    sys.exit(_moved.main())
sys.modules[__name__] = _moved
