"""Blob lifecycle: garbage collection by asking the server, and replay bundles."""
