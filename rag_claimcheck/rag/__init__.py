"""The RAG pieces: ingest, retrieval, answer, the activities around them, the workflows and their starter.

May import: storage, observe, data, claimcheck.
"""
