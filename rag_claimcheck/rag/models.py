"""Data classes for everything that crosses the wire between workflows and activities."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

DEFAULT_TOP_K = 4
MAX_TOP_K = 50


@dataclass(frozen=True)
class SourceDocument:
    """A document as uploaded: raw bytes plus what the uploader says they are.

    The bytes travel base64-encoded: Temporal's JSON converter would otherwise write ``bytes``
    as a list of numbers (about 4x larger).
    """

    filename: str
    mime_type: str
    content_base64: str

    @classmethod
    def from_bytes(cls, data: bytes, *, filename: str, mime_type: str) -> SourceDocument:
        """Wrap raw bytes."""
        return cls(
            filename=filename, mime_type=mime_type, content_base64=base64.b64encode(data).decode("ascii")
        )

    def content(self) -> bytes:
        """The raw bytes."""
        return base64.b64decode(self.content_base64)


@dataclass(frozen=True)
class Chunk:
    """A passage of the document; ``start``/``end`` are character offsets into the text."""

    index: int
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class IngestedDocument:
    """The ingest activity's result: the chunks and what is known about the source.

    Chunks are stored column-wise (texts, starts, ends): Temporal's converter turns three flat
    lists back into Python about 40x faster than a list of 20,000 small dataclasses, and this
    object crosses the wire on every hop (ingest result, retrieve input, continue-as-new).
    """

    filename: str
    mime_type: str
    byte_size: int
    sha256: str
    chunk_texts: list[str]
    chunk_starts: list[int]
    chunk_ends: list[int]

    @classmethod
    def from_chunks(
        cls, *, filename: str, mime_type: str, byte_size: int, sha256: str, chunks: list[Chunk]
    ) -> IngestedDocument:
        """Build from a list of chunks (indexes must be 0..n-1 in order)."""
        return cls(
            filename=filename,
            mime_type=mime_type,
            byte_size=byte_size,
            sha256=sha256,
            chunk_texts=[c.text for c in chunks],
            chunk_starts=[c.start for c in chunks],
            chunk_ends=[c.end for c in chunks],
        )

    @property
    def chunk_count(self) -> int:
        """How many chunks the document was split into."""
        return len(self.chunk_texts)

    @property
    def chunks(self) -> list[Chunk]:
        """The chunks as objects."""
        return [
            Chunk(index=i, text=t, start=s, end=e)
            for i, (t, s, e) in enumerate(
                zip(self.chunk_texts, self.chunk_starts, self.chunk_ends, strict=True)
            )
        ]

    @property
    def key(self) -> DocumentKey:
        """The small handle a worker's index cache knows this document by."""
        return DocumentKey(sha256=self.sha256, filename=self.filename, chunk_count=self.chunk_count)


@dataclass(frozen=True)
class DocumentKey:
    """Names an ingested document by content, without its chunks."""

    sha256: str
    filename: str
    chunk_count: int


@dataclass(frozen=True)
class CachedRetrieval:
    """Result of asking a worker's index cache: ``hit`` is False when it does not hold the document."""

    hit: bool
    passages: list[Passage] = field(default_factory=list)


@dataclass(frozen=True)
class RetrievalQuery:
    """What to look for in an ingested document."""

    question: str
    top_k: int = DEFAULT_TOP_K


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its BM25 score."""

    chunk_index: int
    score: float
    text: str


@dataclass(frozen=True)
class Retrieval:
    """The retrieve activity's result: the passages, and which document they came from."""

    passages: list[Passage]
    document: DocumentKey


@dataclass(frozen=True)
class Turn:
    """One question and its answer in a conversation."""

    question: str
    answer: str
    sources: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class AnswerRequest:
    """Everything the answerer sees: the question, the passages, and the conversation so far."""

    question: str
    passages: list[Passage]
    history: list[Turn] = field(default_factory=list)


@dataclass(frozen=True)
class Answer:
    """The answerer's reply."""

    text: str
    model: str
    extractive: bool
    cited_chunks: list[int]


@dataclass(frozen=True)
class Source:
    """A source shown next to an answer."""

    chunk_index: int
    score: float
    snippet: str


@dataclass(frozen=True)
class RagRequest:
    """Input of :class:`~rag_claimcheck.rag.workflows.AiRagWorkflow`."""

    document: SourceDocument
    question: str
    top_k: int = DEFAULT_TOP_K


@dataclass(frozen=True)
class RagResult:
    """Output of :class:`~rag_claimcheck.rag.workflows.AiRagWorkflow`."""

    answer: str
    model: str
    extractive: bool
    sources: list[Source]
    document_sha256: str
    chunk_count: int


@dataclass(frozen=True)
class ConversationInput:
    """Input of :class:`~rag_claimcheck.rag.workflows.ConversationWorkflow`.

    A new conversation passes ``source``; a continued one (after continue-as-new) passes the
    already ``ingested`` document and the ``turns`` so far.
    """

    source: SourceDocument | None = None
    ingested: IngestedDocument | None = None
    turns: list[Turn] = field(default_factory=list)
    top_k: int = DEFAULT_TOP_K
    generation: int = 0
    allow_continue_as_new: bool = True
    """False only to demonstrate what happens to a history that is never reset."""


@dataclass(frozen=True)
class ConversationState:
    """What the conversation's Query returns."""

    turns: list[Turn]
    history_size_bytes: int
    history_length: int
    generation: int
    ended: bool
