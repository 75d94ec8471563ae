"""Ingest accepts UTF-8 text and Markdown only, and chunks at paragraph and sentence boundaries."""

from __future__ import annotations

import itertools

import pytest
from temporalio.exceptions import ApplicationError

from rag_claimcheck.rag.chunking import chunk_text
from rag_claimcheck.rag.ingest import guess_mime_type, ingest
from rag_claimcheck.rag.models import SourceDocument
from rag_claimcheck.rag.tokenize import tokenize
from rag_claimcheck.samples import sample_text, scaled_document


def doc(data: bytes, mime: str = "text/markdown", name: str = "notes.md") -> SourceDocument:
    return SourceDocument.from_bytes(data, filename=name, mime_type=mime)


class TestChunking:
    def test_chunks_respect_the_size_limit_and_cover_the_whole_text(self) -> None:
        text = sample_text()
        chunks = chunk_text(text, max_chars=800, overlap_chars=150)
        assert all(len(c.text) <= 800 for c in chunks)
        assert chunks[0].start == 0
        assert chunks[-1].end == len(text.rstrip())
        for prev, nxt in itertools.pairwise(chunks):
            assert text[prev.end : nxt.start].strip() == "", "text between two chunks would be lost"
            assert nxt.start > prev.start, "chunks must move forward"
            assert text[nxt.start : nxt.end] == nxt.text

    def test_consecutive_chunks_overlap_by_whole_sentences_within_the_budget(self) -> None:
        text = " ".join(f"Sentence number {i} says something." for i in range(200))
        chunks = chunk_text(text, max_chars=300, overlap_chars=80)
        overlaps = [prev.end - nxt.start for prev, nxt in itertools.pairwise(chunks)]
        assert all(0 < o <= 80 for o in overlaps)
        assert all(c.text.startswith("Sentence number") and c.text.endswith(".") for c in chunks)

    def test_chunks_end_at_a_paragraph_break_once_reasonably_full(self) -> None:
        para = ("Alpha beta gamma delta. " * 15).strip()  # 359 chars: over 60% of 500
        text = "\n\n".join([para, para, para])
        chunks = chunk_text(text, max_chars=500, overlap_chars=0)
        assert [c.text for c in chunks] == [para, para, para]

    def test_a_sentence_longer_than_a_chunk_is_split_at_spaces(self) -> None:
        text = "word " * 400
        chunks = chunk_text(text, max_chars=100, overlap_chars=0)
        assert all(len(c.text) <= 100 for c in chunks)
        assert all(not c.text.startswith(" ") and "wor " not in c.text for c in chunks)

    @pytest.mark.parametrize(("max_chars", "overlap"), [(10, 0), (200, 100), (200, -1)])
    def test_nonsense_parameters_are_rejected(self, max_chars: int, overlap: int) -> None:
        with pytest.raises(ValueError):
            chunk_text("text", max_chars=max_chars, overlap_chars=overlap)


class TestTokenizer:
    def test_case_folded_and_punctuation_stripped(self) -> None:
        assert tokenize("Claim?") == tokenize("claim") == ["claim"]
        assert tokenize("The CLAIM-check, (re)tried!", stem=False) == ["claim", "check", "re", "tried"]

    def test_inflections_share_a_stem(self) -> None:
        assert tokenize("scraped services hands") == tokenize("scrape service hand")

    def test_possessives_and_stopwords(self) -> None:
        assert tokenize("What is Lanternfish's port?") == ["lanternfish", "port"]
        assert tokenize("What is the", drop_stopwords=False, stem=False) == ["what", "is", "the"]

    def test_concurrent_tokenizing_gives_the_same_tokens_as_one_thread(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from rag_claimcheck.rag import tokenize as tokenize_module

        text = sample_text()
        tokenize_module._stem.cache_clear()
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(tokenize, [text] * 4))
        tokenize_module._stem.cache_clear()
        assert all(r == tokenize(text) for r in results)

    def test_unicode_words(self) -> None:
        assert tokenize("Straße Café naïve", stem=False) == ["strasse", "café", "naïve"]


class TestIngest:
    def test_markdown_is_chunked_with_metadata(self) -> None:
        data = sample_text().encode()
        result = ingest(doc(data))
        assert result.byte_size == len(data)
        assert result.mime_type == "text/markdown"
        assert len(result.sha256) == 64
        assert result.chunk_count == len(result.chunks) > 100

    def test_non_utf8_input_is_refused_naming_the_byte_and_offset(self) -> None:
        with pytest.raises(ApplicationError) as info:
            ingest(doc("caf\u00e9 au lait".encode("latin-1"), name="menu.txt", mime="text/plain"))
        assert info.value.type == "DocumentNotUtf8"
        assert info.value.non_retryable
        assert "menu.txt is not valid UTF-8: byte 0xe9 at offset 3" in info.value.message

    @pytest.mark.parametrize("mime", ["application/pdf", "text/html", "image/png", ""])
    def test_unsupported_types_are_refused(self, mime: str) -> None:
        with pytest.raises(ApplicationError) as info:
            ingest(doc(b"hello", mime=mime))
        assert info.value.type == "UnsupportedDocumentType"
        assert info.value.non_retryable
        assert "supported: text/plain, text/markdown" in info.value.message

    @pytest.mark.parametrize("data", [b"", b"   \n\n\t "])
    def test_empty_documents_are_refused(self, data: bytes) -> None:
        with pytest.raises(ApplicationError) as info:
            ingest(doc(data))
        assert info.value.type == "EmptyDocument"

    def test_mime_parameters_and_a_bom_are_accepted(self) -> None:
        result = ingest(doc("\ufeffHello there. General Kenobi.".encode(), mime="text/plain; charset=utf-8"))
        assert result.chunks[0].text == "Hello there. General Kenobi."

    def test_mime_guessing(self) -> None:
        assert guess_mime_type("a.md") == "text/markdown"
        assert guess_mime_type("a.TXT") == "text/plain"
        assert guess_mime_type("a.pdf") == "application/pdf"


class TestScaledDocument:
    def test_exact_size_and_deterministic(self) -> None:
        a = scaled_document(1_000_003)
        assert len(a) == 1_000_003
        assert a == scaled_document(1_000_003)
        a.decode("utf-8")
