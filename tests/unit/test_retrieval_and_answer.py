"""BM25 finds the right passage for the sample questions; the answerers answer from passages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from rag_claimcheck.data.samples import sample_qa, sample_text
from rag_claimcheck.rag.activities import RagActivities
from rag_claimcheck.rag.answer import ExtractiveAnswerer, OpenAIAnswerer, answerer_from_env
from rag_claimcheck.rag.ingest import ingest
from rag_claimcheck.rag.models import (
    AnswerRequest,
    IngestedDocument,
    Passage,
    RetrievalQuery,
    SourceDocument,
    Turn,
)
from rag_claimcheck.rag.retrieval import BM25Index, IndexCache
from tests.openai_stub import openai_stub

T = TypeVar("T")
RECALL_AT_4_FLOOR = 28 / 30
"""Measured 28/30 at k=4 and 23/30 at k=1 with Snowball stemming; fewer at k=4 means retrieval regressed."""


@pytest.fixture(scope="module")
def source() -> SourceDocument:
    return SourceDocument.from_bytes(
        sample_text().encode(), filename="handbook.md", mime_type="text/markdown"
    )


@pytest.fixture(scope="module")
def handbook(source: SourceDocument) -> IngestedDocument:
    return ingest(source)


@pytest.fixture(scope="module")
def handbook_index(source: SourceDocument, handbook: IngestedDocument) -> BM25Index:
    return BM25Index(handbook, source.text)


@pytest.fixture(scope="module")
def handbook_texts(source: SourceDocument, handbook: IngestedDocument) -> list[str]:
    return handbook.chunk_texts(source.text)


def document_of_chunks(texts: list[str], sha256: str = "x") -> tuple[IngestedDocument, str]:
    """A document made of ``texts`` separated by blank lines, and its chunk offsets (one per text)."""
    text = "\n\n".join(texts)
    starts, pos = [], 0
    for t in texts:
        starts.append(pos)
        pos += len(t) + 2
    ingested = IngestedDocument(
        filename="d",
        mime_type="text/plain",
        byte_size=len(text.encode()),
        char_count=len(text),
        sha256=sha256,
        chunk_starts=starts,
        chunk_ends=[s + len(t) for s, t in zip(starts, texts, strict=True)],
    )
    return ingested, text


def recall_at(index: BM25Index, k: int) -> float:
    qa = sample_qa()
    hits = sum(any(pair.answer_contains in p.text for p in index.search(pair.question, k)) for pair in qa)
    return hits / len(qa)


class TestBM25:
    def test_recall_on_the_sample_question_set(self, handbook_index: BM25Index) -> None:
        index = handbook_index
        recall = {k: recall_at(index, k) for k in (1, 4)}
        print(f"recall@1={recall[1]:.2f} recall@4={recall[4]:.2f}")
        assert recall[4] >= RECALL_AT_4_FLOOR
        assert recall[1] >= 0.7

    def test_punctuation_in_the_question_does_not_matter(self, handbook_index: BM25Index) -> None:
        index = handbook_index
        assert index.search("Shoal consumer lag?", 3) == index.search("shoal CONSUMER lag", 3)

    def test_results_are_ranked_best_first_and_bounded_by_k(self, handbook_index: BM25Index) -> None:
        passages = handbook_index.search("backup restore drill", 5)
        assert len(passages) == 5
        assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)

    def test_repeated_text_yields_distinct_passages(self, handbook_texts: list[str]) -> None:
        doubled = document_of_chunks(handbook_texts * 2)
        passages = BM25Index(*doubled).search("Shoal consumer lag", 4)
        assert len({p.text for p in passages}) == 4

    def test_a_document_repeated_more_often_than_the_candidate_pool_still_yields_distinct_passages(
        self, handbook_texts: list[str]
    ) -> None:
        copies = document_of_chunks(handbook_texts * 200)
        passages = BM25Index(*copies).search("Shoal consumer lag", 4)
        assert len({p.text for p in passages}) == 4

    @pytest.mark.parametrize("chunks", [1, 2])
    def test_a_tiny_document_still_retrieves_its_passages(self, chunks: int) -> None:
        texts = ["The Keel pooler listens on port 6432.", "Shoal pages at 45,000 messages of lag."][:chunks]
        [best] = BM25Index(*document_of_chunks(texts)).search("Which port does the Keel pooler use?", 1)
        assert "6432" in best.text

    def test_a_question_of_only_stopwords_retrieves_nothing(self, handbook_index: BM25Index) -> None:
        assert handbook_index.search("what is the", 4) == []


class TestIndexCache:
    async def test_the_index_is_built_once_per_document(
        self, source: SourceDocument, handbook: IngestedDocument
    ) -> None:
        activities = RagActivities(answerer=ExtractiveAnswerer(), index_cache=IndexCache(max_documents=2))
        await run_activity(
            activities.retrieve_passages, raw(source), handbook, RetrievalQuery("Shoal lag", 3)
        )
        await run_activity(
            activities.retrieve_passages, raw(source), handbook, RetrievalQuery("Keel backups", 3)
        )
        assert (activities.index_cache.misses, activities.index_cache.hits) == (1, 1)

    async def test_the_cached_path_answers_only_from_a_warm_index(
        self, source: SourceDocument, handbook: IngestedDocument
    ) -> None:
        activities = RagActivities(answerer=ExtractiveAnswerer())
        query = RetrievalQuery("Shoal consumer lag", 3)
        miss = await activities.retrieve_from_cache(handbook.key, query)
        assert (miss.hit, miss.passages) == (False, [])
        full = await run_activity(activities.retrieve_passages, raw(source), handbook, query)
        assert full.document == handbook.key
        hit = await activities.retrieve_from_cache(handbook.key, query)
        assert hit.hit and hit.passages == full.passages

    def test_the_cache_is_bounded_and_evicts_the_least_recently_used(self, handbook_texts: list[str]) -> None:
        def doc(sha: str) -> tuple[IngestedDocument, str]:
            return document_of_chunks(handbook_texts[:5], sha256=sha)

        cache = IndexCache(max_documents=2)
        cache.get(*doc("a"))
        cache.get(*doc("b"))
        cache.get(*doc("a"))  # a is now the most recently used
        cache.get(*doc("c"))  # evicts b, not a
        assert len(cache) == 2
        assert cache.peek("a") is not None and cache.peek("c") is not None
        assert cache.peek("b") is None

    @pytest.mark.parametrize(
        ("question", "top_k", "error_type"),
        [
            ("", 4, "EmptyQuestion"),
            ("  ", 4, "EmptyQuestion"),
            ("q", 0, "InvalidParameter"),
            ("q", 51, "InvalidParameter"),
        ],
    )
    async def test_nonsense_queries_are_refused(
        self, source: SourceDocument, handbook: IngestedDocument, question: str, top_k: int, error_type: str
    ) -> None:
        with pytest.raises(ApplicationError) as info:
            await run_activity(
                RagActivities(answerer=ExtractiveAnswerer()).retrieve_passages,
                raw(source),
                handbook,
                RetrievalQuery(question, top_k),
            )
        assert info.value.type == error_type
        assert info.value.non_retryable

    async def test_offsets_of_another_document_are_refused(
        self, source: SourceDocument, handbook: IngestedDocument
    ) -> None:
        other = SourceDocument(filename="other.md", mime_type="text/markdown", text=source.text[:1000])
        with pytest.raises(ApplicationError) as info:
            await run_activity(
                RagActivities(answerer=ExtractiveAnswerer()).retrieve_passages,
                raw(other),
                handbook,
                RetrievalQuery("Shoal lag", 4),
            )
        assert (info.value.type, info.value.non_retryable) == ("InvalidParameter", True)
        assert info.value.message == (
            f"other.md has 1000 characters but was ingested with {len(source.text)}: "
            "the chunk offsets belong to another document"
        )

    async def test_ingest_warms_the_index_so_retrieval_does_not_parse_the_document_again(
        self, source: SourceDocument
    ) -> None:
        activities = RagActivities(answerer=ExtractiveAnswerer())
        result = await run_activity(activities.ingest_document, source)
        ingested = DataConverter.default.payload_converter.from_payload(result.payload, IngestedDocument)
        assert activities.index_cache.peek(ingested.sha256) is not None
        # The document payload is not even looked at: the index this worker built answers.
        unreadable = RawValue(Payload(metadata={"encoding": b"json/plain"}, data=b"not a document"))
        found = await run_activity(
            activities.retrieve_passages, unreadable, ingested, RetrievalQuery("Shoal consumer lag", 4)
        )
        assert any("45,000" in p.text for p in found.passages)


def raw(document: SourceDocument) -> RawValue:
    """The document as the payload a workflow forwards."""
    return RawValue(DataConverter.default.payload_converter.to_payload(document))


async def run_activity(fn: Callable[..., Awaitable[T]], *args: object) -> T:
    return await ActivityEnvironment().run(fn, *args)


class TestExtractiveAnswerer:
    async def test_answers_with_the_best_matching_sentence_and_cites_it(
        self, handbook_index: BM25Index
    ) -> None:
        question = "How much consumer lag on Shoal pages the on-call engineer?"
        passages = handbook_index.search(question, 4)
        answer = await ExtractiveAnswerer().answer(AnswerRequest(question=question, passages=passages))
        assert answer.extractive
        assert answer.text.startswith("Extractive answer (no LLM configured; quoted from the document): ")
        assert "consumer lag exceeds 45,000 messages for ten minutes" in answer.text
        assert f"[chunk {answer.cited_chunks[0]}]" in answer.text

    async def test_is_deterministic(self, handbook_index: BM25Index) -> None:
        passages = handbook_index.search("restore drill schedule", 4)
        request = AnswerRequest(question="restore drill schedule", passages=passages)
        assert await ExtractiveAnswerer().answer(request) == await ExtractiveAnswerer().answer(request)

    async def test_says_so_when_nothing_matches(self) -> None:
        answer = await ExtractiveAnswerer().answer(AnswerRequest(question="zebra", passages=[]))
        assert "no passage that matches" in answer.text
        assert answer.cited_chunks == []


class TestOpenAIAnswerer:
    async def test_request_carries_system_prompt_conversation_passages_and_question(self) -> None:
        async with openai_stub() as stub:
            answerer = OpenAIAnswerer(api_key="sk-test", base_url=stub.base_url, model="local-model")
            request = AnswerRequest(
                question="What pages on-call?",
                passages=[Passage(chunk_index=3, score=1.0, text="Lag over 45,000 pages.")],
                history=[Turn(question="Earlier?", answer="Earlier answer.")],
            )
            answer = await answerer.answer(request)
        [body] = stub.requests
        assert body["model"] == "local-model"
        assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
        assert body["messages"][1:3] == [
            {"role": "user", "content": "Earlier?"},
            {"role": "assistant", "content": "Earlier answer."},
        ]
        assert "[chunk 3]\nLag over 45,000 pages." in body["messages"][3]["content"]
        assert body["messages"][3]["content"].endswith("Question: What pages on-call?")
        assert stub.headers[0]["Authorization"] == "Bearer sk-test"
        assert answer.cited_chunks == [3]
        assert not answer.extractive

    @pytest.mark.parametrize(
        ("status", "error_type", "non_retryable"),
        [
            (401, "LLMAuthenticationError", True),
            (403, "LLMAuthenticationError", True),
            (400, "LLMBadRequest", True),
            (429, "LLMRateLimited", False),
            (500, "LLMUnavailable", False),
            (503, "LLMUnavailable", False),
        ],
    )
    async def test_http_errors_are_classified_for_the_retry_policy(
        self, status: int, error_type: str, non_retryable: bool
    ) -> None:
        async with openai_stub() as stub:
            stub.script = [status]
            answerer = OpenAIAnswerer(api_key="sk-test", base_url=stub.base_url)
            with pytest.raises(ApplicationError) as info:
                await answerer.answer(AnswerRequest(question="q", passages=[]))
        assert info.value.type == error_type
        assert info.value.non_retryable is non_retryable
        assert len(stub.requests) == 1, "the client must not retry by itself; the activity retry policy does"

    def test_answerer_choice_from_environment(self) -> None:
        assert isinstance(answerer_from_env({}), ExtractiveAnswerer)
        assert isinstance(answerer_from_env({"OPENAI_API_KEY": "sk"}), OpenAIAnswerer)
        assert isinstance(
            answerer_from_env({"OPENAI_API_KEY": "sk", "RAG_ANSWERER": "extractive"}), ExtractiveAnswerer
        )
        with pytest.raises(ValueError, match="needs OPENAI_API_KEY"):
            answerer_from_env({"RAG_ANSWERER": "openai"})
