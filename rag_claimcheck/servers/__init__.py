"""Real servers on loopback: the Temporal dev server and MinIO, found or built, started and stopped.

May import: nothing else of the kit.
"""
