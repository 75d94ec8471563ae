"""The RAG pieces: ingest, retrieval, answer, the activities around them and the workflows."""
