"""Data classes for everything that crosses the wire between workflows and activities."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag_claimcheck.claimcheck.refs import DataRef
from rag_claimcheck.rag import errors

DEFAULT_TOP_K = 4
MAX_TOP_K = 50


@dataclass(frozen=True)
class SourceDocument:
    """A text document as uploaded: its name, what the uploader says it is, and its text.

    It travels as JSON text (never base64), so the Web UI shows the words themselves, and
    it is always its own payload (its own workflow argument): workflows forward it to the
    activities as a ``RawValue``, byte for byte, so content addressing stores it once.
    Build one from bytes with :meth:`from_bytes`, which insists on UTF-8.
    """

    filename: str
    mime_type: str
    text: str

    @classmethod
    def from_bytes(cls, data: bytes, *, filename: str, mime_type: str) -> SourceDocument:
        """Decode ``data`` as strict UTF-8 (a leading byte-order mark is dropped).

        Raises:
            ApplicationError: ``DocumentNotUtf8`` (non-retryable), naming the first bad byte
                and its offset.
        """
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise errors.not_utf8(filename, data[e.start], e.start, e.reason) from None
        return cls(filename=filename, mime_type=mime_type, text=text.removeprefix("\ufeff"))


@dataclass(frozen=True)
class DocumentRef:
    """A document in the blob store: what a workflow carries instead of a large document's text.

    The starter stores the file's bytes as they are (:mod:`rag_claimcheck.rag.documents`) and
    starts the workflow with this reference of a few hundred bytes, so no workflow task decodes,
    holds or forwards the document; ingest and retrieval read the bytes in the activity, checked
    against ``blob``'s size and sha256.
    """

    filename: str
    mime_type: str
    blob: DataRef
    """The document's bytes, as uploaded (UTF-8, a leading byte-order mark included if it had one)."""


@dataclass(frozen=True)
class Chunk:
    """A passage of the document; ``start``/``end`` are character offsets into the text."""

    index: int
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class IngestedDocument:
    """The ingest activity's result: where the chunks are, and what is known about the source.

    It holds chunk *boundaries* (character offsets into :attr:`SourceDocument.text`), not a
    second copy of the text: retrieval gets the document and slices it. Offsets are stored
    column-wise, as two flat lists, which Temporal's converter reads back quickly. For a
    :class:`DocumentRef`, the offsets (which grow with the document) are in the blob store too:
    ``offsets`` points at them and the two lists are empty, so the workflow passes on a few
    hundred bytes.
    """

    filename: str
    mime_type: str
    byte_size: int
    char_count: int
    sha256: str
    chunk_starts: list[int]
    chunk_ends: list[int]
    offsets: DataRef | None = None
    """Where the chunk offsets are when they are not in the lists (a stored document's)."""

    @classmethod
    def from_chunks(
        cls,
        *,
        filename: str,
        mime_type: str,
        byte_size: int,
        char_count: int,
        sha256: str,
        chunks: list[Chunk],
    ) -> IngestedDocument:
        """Build from a list of chunks (indexes must be 0..n-1 in order)."""
        return cls(
            filename=filename,
            mime_type=mime_type,
            byte_size=byte_size,
            char_count=char_count,
            sha256=sha256,
            chunk_starts=[c.start for c in chunks],
            chunk_ends=[c.end for c in chunks],
        )

    @property
    def chunk_count(self) -> int:
        """How many chunks the document was split into."""
        return self.offsets.count if self.offsets is not None else len(self.chunk_starts)

    def chunk_texts(self, text: str) -> list[str]:
        """The chunks' texts, sliced out of the document's ``text``."""
        return [text[s:e] for s, e in zip(self.chunk_starts, self.chunk_ends, strict=True)]

    def chunks(self, text: str) -> list[Chunk]:
        """The chunks as objects, sliced out of the document's ``text``."""
        return [
            Chunk(index=i, text=text[s:e], start=s, end=e)
            for i, (s, e) in enumerate(zip(self.chunk_starts, self.chunk_ends, strict=True))
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
    """Everything the answerer sees: the question, the passages, and the conversation so far.

    The conversation comes inline (``history``) or, stored turn by turn, as a reference to its
    newest turn (``history_ref``; see :mod:`rag_claimcheck.rag.transcript`). With ``store_turn``
    the activity stores the new turn and returns the new head in :attr:`Answer.turn_ref`.
    """

    question: str
    passages: list[Passage]
    history: list[Turn] = field(default_factory=list)
    history_ref: DataRef | None = None
    store_turn: bool = False


@dataclass(frozen=True)
class Answer:
    """The answerer's reply."""

    text: str
    model: str
    extractive: bool
    cited_chunks: list[int]
    turn_ref: DataRef | None = None
    """The stored conversation's new head, when the request asked to store the turn."""


@dataclass(frozen=True)
class Source:
    """A source shown next to an answer."""

    chunk_index: int
    score: float
    snippet: str


@dataclass(frozen=True)
class RagRequest:
    """The question of :class:`~rag_claimcheck.rag.workflows.AiRagWorkflow`.

    The workflow's first argument is the :class:`SourceDocument` (or, for a large document, a
    :class:`DocumentRef`); this is its second.
    """

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
    """Settings and state of :class:`~rag_claimcheck.rag.workflows.ConversationWorkflow`.

    The workflow's first argument is the :class:`SourceDocument`; this is its second. A new
    conversation leaves ``ingested`` empty; a continued one (after continue-as-new) carries the
    chunk boundaries and the ``turns`` so far, so the document is not ingested again.
    """

    ingested: IngestedDocument | None = None
    turns: list[Turn] = field(default_factory=list)
    top_k: int = DEFAULT_TOP_K
    generation: int = 0
    allow_continue_as_new: bool = True
    """False only to demonstrate what happens to a history that is never reset."""
    history_ref: DataRef | None = None
    """The stored conversation's newest turn (carried across continue-as-new)."""
    turns_by_reference: bool = True
    """Store each turn once and pass the answer activity a reference (linear storage); False
    sends the whole conversation with every call (quadratic), for comparison."""


@dataclass(frozen=True)
class ConversationStats:
    """What the conversation's ``stats`` Query returns: sizes without the turns.

    Cheap to poll: unlike :class:`ConversationState` it does not grow with the conversation (a
    growing query result over the claim-check threshold is stored again on every poll).
    """

    turns: int
    history_size_bytes: int
    history_length: int
    generation: int
    ended: bool


@dataclass(frozen=True)
class ConversationState:
    """What the conversation's Query returns."""

    turns: list[Turn]
    history_size_bytes: int
    history_length: int
    generation: int
    ended: bool
