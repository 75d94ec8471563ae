"""The running stack: connecting to Temporal, the kit's worker, the embedded stack, fault drills.

May import: storage, observe, data, servers, claimcheck, rag, codec_server.
"""
