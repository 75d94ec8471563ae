"""``python -m rag_claimcheck.corpus``: the command lives in :mod:`rag_claimcheck.data.corpus`; this name stays for existing scripts."""

import sys

from rag_claimcheck.data import corpus as _moved

if __name__ == "__main__":
    _moved.main()
sys.modules[__name__] = _moved
