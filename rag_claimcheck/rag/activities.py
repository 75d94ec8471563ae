"""The RAG activities. They do the I/O and the CPU work; workflows only orchestrate them."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

from temporalio import activity
from temporalio.common import RawValue

from rag_claimcheck.claimcheck.offload import offloaded
from rag_claimcheck.claimcheck.refs import RefStore
from rag_claimcheck.rag import documents
from rag_claimcheck.rag.answer import Answerer, answerer_from_env
from rag_claimcheck.rag.errors import INVALID_PARAMETER, bad_input, check_question, check_top_k
from rag_claimcheck.rag.heartbeat import heartbeating
from rag_claimcheck.rag.ingest import check_mime_type, chunk_document, ingest
from rag_claimcheck.rag.models import (
    MAX_TOP_K,
    Answer,
    AnswerRequest,
    CachedRetrieval,
    DocumentKey,
    DocumentRef,
    IngestedDocument,
    Retrieval,
    RetrievalQuery,
    SourceDocument,
    Turn,
)
from rag_claimcheck.rag.retrieval import IndexCache
from rag_claimcheck.rag.transcript import Transcript

DOCUMENT_STORE_MISSING = "DocumentStoreMissing"


def _parse_document(document: RawValue) -> SourceDocument | DocumentRef:
    value = activity.payload_converter().from_payload(
        document.payload,
        SourceDocument | DocumentRef,  # type: ignore[arg-type] # the converter takes a union as a type hint
    )
    assert isinstance(value, SourceDocument | DocumentRef)
    return value


class RagActivities:
    """Activities bound to one answerer and one per-process BM25 index cache.

    Args:
        answerer: Default: :func:`~rag_claimcheck.rag.answer.answerer_from_env`.
        index_cache: Default: a new cache for this worker process.
        transcript: Where conversations store their turns; without one, a conversation's turns
            travel inline. :func:`~rag_claimcheck.stack.worker.build_worker` sets it from the
            client's claim-check store.
        refs: Where stored documents (:class:`DocumentRef`) and their chunk offsets are read and
            written; ``build_worker`` sets it from the client's claim-check store.
    """

    def __init__(
        self,
        *,
        answerer: Answerer | None = None,
        index_cache: IndexCache | None = None,
        transcript: Transcript | None = None,
        refs: RefStore | None = None,
    ) -> None:
        self.answerer = answerer if answerer is not None else answerer_from_env()
        self.index_cache = index_cache if index_cache is not None else IndexCache()
        self.transcript = transcript
        self.refs = refs

    def _refs(self, document: DocumentRef) -> RefStore:
        if self.refs is None:
            raise bad_input(
                f"{document.filename} is stored at {document.blob.key}, but this worker has no blob store "
                "(start it with a ClaimCheckPlugin, as worker.py does)",
                DOCUMENT_STORE_MISSING,
            )
        return self.refs

    @activity.defn(name="ingest_document")
    async def ingest_document(self, document: SourceDocument | DocumentRef) -> RawValue:
        """Check (text type, valid UTF-8, not empty) and chunk a document; warm this worker's index.

        Returns an :class:`IngestedDocument` (chunk offsets, not text). For a document that came
        inline, it is marked to be claim-checked whatever its size: its size grows with the
        document, and it travels on to retrieval. For a :class:`DocumentRef`, the offsets go to the
        store and the result is a few hundred bytes. The BM25 index is built here, while the text
        is in memory anyway, so retrieval on this worker does not read the document a second time.
        """
        if isinstance(document, DocumentRef):
            return await self._ingest_stored(document)
        ingested = await heartbeating(asyncio.to_thread(ingest, document))
        await heartbeating(asyncio.to_thread(self.index_cache.get, ingested, document.text))
        return offloaded(activity.payload_converter(), ingested)

    async def _ingest_stored(self, document: DocumentRef) -> RawValue:
        refs = self._refs(document)
        mime = check_mime_type(document.filename, document.mime_type)  # before fetching gigabytes
        text = await heartbeating(documents.load_text(refs, document))
        ingested = await heartbeating(
            asyncio.to_thread(
                chunk_document,
                document.filename,
                mime,
                text,
                sha256=document.blob.sha256,
                byte_size=document.blob.size,
            )
        )
        stored = await heartbeating(documents.save_offsets(refs, ingested))
        await heartbeating(asyncio.to_thread(self.index_cache.get, ingested, text))
        return RawValue(activity.payload_converter().to_payload(stored))

    @activity.defn(name="retrieve_passages")
    async def retrieve_passages(
        self, document: RawValue, ingested: IngestedDocument, query: RetrievalQuery
    ) -> Retrieval:
        """The ``top_k`` chunks that best match the question (BM25; index cached per document).

        ``document`` is the :class:`SourceDocument` (or :class:`DocumentRef`) payload, read only
        when this worker has no index for it yet; ``ingested`` holds the chunks' offsets into its
        text (or where they are stored).
        """
        question = check_question(query.question)
        top_k = check_top_k(query.top_k, MAX_TOP_K)
        index = self.index_cache.peek(ingested.sha256)
        if index is None:
            source = await heartbeating(asyncio.to_thread(_parse_document, document))
            if isinstance(source, DocumentRef):
                refs = self._refs(source)
                text = await heartbeating(documents.load_text(refs, source))
                ingested = await heartbeating(documents.load_offsets(refs, ingested))
            else:
                text = source.text
            if len(text) != ingested.char_count:
                raise bad_input(
                    f"{source.filename} has {len(text)} characters but was ingested with "
                    f"{ingested.char_count}: the chunk offsets belong to another document",
                    INVALID_PARAMETER,
                )
            index = await heartbeating(asyncio.to_thread(self.index_cache.get, ingested, text))
        passages = await heartbeating(asyncio.to_thread(index.search, question, top_k))
        return Retrieval(passages=passages, document=ingested.key)

    @activity.defn(name="retrieve_from_cache")
    async def retrieve_from_cache(self, document: DocumentKey, query: RetrievalQuery) -> CachedRetrieval:
        """Like ``retrieve_passages``, but only from this worker's cached index (a tiny input).

        A miss (``hit=False``) tells the workflow to send the whole document once.
        """
        question = check_question(query.question)
        top_k = check_top_k(query.top_k, MAX_TOP_K)
        index = self.index_cache.peek(document.sha256)
        if index is None:
            return CachedRetrieval(hit=False)
        passages = await heartbeating(asyncio.to_thread(index.search, question, top_k))
        return CachedRetrieval(hit=True, passages=passages)

    @activity.defn(name="answer_question")
    async def answer_question(self, request: AnswerRequest) -> Answer:
        """Answer from the passages and the conversation so far (inline, or by reference).

        With ``request.store_turn`` and a transcript, the new turn is stored once and the answer
        carries the conversation's new head (``turn_ref``) for the workflow to pass next time.
        Heartbeats while it waits (an LLM call can take a minute), so a worker killed mid-answer
        is replaced within the heartbeat timeout rather than the step's start-to-close.
        """
        return await heartbeating(self._answer(request))

    async def _answer(self, request: AnswerRequest) -> Answer:
        check_question(request.question)
        if request.history_ref is not None:
            if self.transcript is None:
                raise bad_input(
                    "this worker has no store for conversation turns, but the request refers to stored turns",
                    "TranscriptUnavailable",
                )
            request = dataclasses.replace(request, history=await self.transcript.load(request.history_ref))
        answer = await self.answerer.answer(request)
        if not request.store_turn or self.transcript is None:
            return answer
        turn = Turn(
            question=request.question.strip(),
            answer=answer.text,
            sources=[p.chunk_index for p in request.passages],
        )
        return dataclasses.replace(answer, turn_ref=await self.transcript.append(request.history_ref, turn))

    def all(self) -> list[Callable[..., object]]:
        """Every activity, for ``Worker(activities=...)``."""
        return [self.ingest_document, self.retrieve_passages, self.retrieve_from_cache, self.answer_question]
