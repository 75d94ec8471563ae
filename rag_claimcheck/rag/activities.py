"""The RAG activities. They do the I/O and the CPU work; workflows only orchestrate them."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

from temporalio import activity
from temporalio.common import RawValue

from rag_claimcheck.claimcheck.offload import offloaded
from rag_claimcheck.rag.answer import Answerer, answerer_from_env
from rag_claimcheck.rag.errors import INVALID_PARAMETER, bad_input, check_question, check_top_k
from rag_claimcheck.rag.heartbeat import heartbeating
from rag_claimcheck.rag.ingest import ingest
from rag_claimcheck.rag.models import (
    MAX_TOP_K,
    Answer,
    AnswerRequest,
    CachedRetrieval,
    DocumentKey,
    IngestedDocument,
    Retrieval,
    RetrievalQuery,
    SourceDocument,
    Turn,
)
from rag_claimcheck.rag.retrieval import IndexCache
from rag_claimcheck.rag.transcript import Transcript


def _parse_document(document: RawValue) -> SourceDocument:
    value = activity.payload_converter().from_payload(document.payload, SourceDocument)
    assert isinstance(value, SourceDocument)
    return value


class RagActivities:
    """Activities bound to one answerer and one per-process BM25 index cache.

    Args:
        answerer: Default: :func:`~rag_claimcheck.rag.answer.answerer_from_env`.
        index_cache: Default: a new cache for this worker process.
        transcript: Where conversations store their turns; without one, a conversation's turns
            travel inline. :func:`~rag_claimcheck.stack.worker.build_worker` sets it from the
            client's claim-check store.
    """

    def __init__(
        self,
        *,
        answerer: Answerer | None = None,
        index_cache: IndexCache | None = None,
        transcript: Transcript | None = None,
    ) -> None:
        self.answerer = answerer if answerer is not None else answerer_from_env()
        self.index_cache = index_cache if index_cache is not None else IndexCache()
        self.transcript = transcript

    @activity.defn(name="ingest_document")
    async def ingest_document(self, document: SourceDocument) -> RawValue:
        """Check (text type, valid UTF-8, not empty) and chunk a document; warm this worker's index.

        Returns an :class:`IngestedDocument` (chunk offsets, not text), marked to be claim-checked
        whatever its size: its size grows with the document, and it travels on to retrieval.
        The BM25 index is built here, while the text is in memory anyway, so retrieval on this
        worker does not parse the document a second time.
        """
        ingested = await heartbeating(asyncio.to_thread(ingest, document))
        await heartbeating(asyncio.to_thread(self.index_cache.get, ingested, document.text))
        return offloaded(activity.payload_converter(), ingested)

    @activity.defn(name="retrieve_passages")
    async def retrieve_passages(
        self, document: RawValue, ingested: IngestedDocument, query: RetrievalQuery
    ) -> Retrieval:
        """The ``top_k`` chunks that best match the question (BM25; index cached per document).

        ``document`` is the :class:`SourceDocument` payload, parsed only when this worker has no
        index for it yet; ``ingested`` holds the chunks' offsets into its text.
        """
        question = check_question(query.question)
        top_k = check_top_k(query.top_k, MAX_TOP_K)
        index = self.index_cache.peek(ingested.sha256)
        if index is None:
            source = await heartbeating(asyncio.to_thread(_parse_document, document))
            if len(source.text) != ingested.char_count:
                raise bad_input(
                    f"{source.filename} has {len(source.text)} characters but was ingested with "
                    f"{ingested.char_count}: the chunk offsets belong to another document",
                    INVALID_PARAMETER,
                )
            index = await heartbeating(asyncio.to_thread(self.index_cache.get, ingested, source.text))
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
        return CachedRetrieval(hit=True, passages=await asyncio.to_thread(index.search, question, top_k))

    @activity.defn(name="answer_question")
    async def answer_question(self, request: AnswerRequest) -> Answer:
        """Answer from the passages and the conversation so far (inline, or by reference).

        With ``request.store_turn`` and a transcript, the new turn is stored once and the answer
        carries the conversation's new head (``turn_ref``) for the workflow to pass next time.
        """
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
