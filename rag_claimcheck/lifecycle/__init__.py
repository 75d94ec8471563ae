"""Blob lifecycle: garbage collection by asking the server, and replay bundles.

May import: storage, observe, claimcheck, rag, codec_server, stack.
"""
