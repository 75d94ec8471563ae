"""``python -m rag_claimcheck.samples``: the command lives in :mod:`rag_claimcheck.data.samples`; this name stays for existing scripts."""

import sys

from rag_claimcheck.data import samples as _moved

if __name__ == "__main__":
    _moved.main()
sys.modules[__name__] = _moved
