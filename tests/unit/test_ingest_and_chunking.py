"""Ingest accepts UTF-8 text and Markdown only, and chunks at paragraph and sentence boundaries."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import pytest
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from rag_claimcheck.data.samples import sample_text, scaled_document
from rag_claimcheck.rag.chunking import chunk_text
from rag_claimcheck.rag.ingest import guess_mime_type, ingest, load_document
from rag_claimcheck.rag.models import SourceDocument
from rag_claimcheck.rag.tokenize import tokenize


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

        text = sample_text()
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(tokenize, [text] * 4))
        assert all(r == tokenize(text) for r in results)

    def test_unicode_words(self) -> None:
        assert tokenize("Straße Café naïve", stem=False) == ["strasse", "café", "naïve"]


class TestIngest:
    def test_markdown_is_chunked_into_offsets_with_metadata(self) -> None:
        data = sample_text().encode()
        source = doc(data)
        result = ingest(source)
        assert result.byte_size == len(data)
        assert result.char_count == len(source.text)
        assert result.mime_type == "text/markdown"
        assert result.sha256 == hashlib.sha256(data).hexdigest()
        assert result.chunk_count > 100
        assert [c.text for c in result.chunks(source.text)] == [c.text for c in chunk_text(source.text)]

    def test_the_result_carries_offsets_not_a_second_copy_of_the_text(self) -> None:
        source = doc(sample_text().encode())
        serialized = DataConverter.default.payload_converter.to_payload(ingest(source)).data
        assert len(serialized) < len(source.text.encode()) // 10
        assert b"Shoal" not in serialized

    def test_non_utf8_bytes_are_refused_when_read_naming_the_byte_and_offset(self, tmp_path: Path) -> None:
        path = tmp_path / "menu.txt"
        path.write_bytes("caf\u00e9 au lait".encode("latin-1"))
        with pytest.raises(ApplicationError) as info:
            load_document(path)
        assert info.value.type == "DocumentNotUtf8"
        assert info.value.non_retryable
        assert info.value.message == (
            "menu.txt is not valid UTF-8: byte 0xe9 at offset 3 (invalid continuation byte); "
            "convert it to UTF-8 first (e.g. iconv -f latin1 -t utf-8)"
        )

    def test_text_that_no_utf8_encodes_is_refused_at_ingest(self) -> None:
        # What a client that decoded with errors="surrogateescape" would send: JSON carries it.
        smuggled = SourceDocument(
            filename="menu.txt", mime_type="text/plain", text=b"caf\xe9".decode("utf-8", "surrogateescape")
        )
        with pytest.raises(ApplicationError) as info:
            ingest(smuggled)
        assert (info.value.type, info.value.non_retryable) == ("DocumentNotUtf8", True)
        assert info.value.message.startswith(
            "menu.txt is not valid UTF-8: character U+DCE9 at character offset 3 is a lone surrogate"
        )

    def test_the_document_travels_as_readable_json_text(self) -> None:
        payload = DataConverter.default.payload_converter.to_payload(doc(b"# Notes\n\nPort 6432."))
        assert payload.metadata["encoding"] == b"json/plain"
        assert json.loads(payload.data) == {
            "filename": "notes.md",
            "mime_type": "text/markdown",
            "text": "# Notes\n\nPort 6432.",
        }

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
        source = doc("\ufeffHello there. General Kenobi.".encode(), mime="text/plain; charset=utf-8")
        assert source.text == "Hello there. General Kenobi."
        assert ingest(source).chunks(source.text)[0].text == "Hello there. General Kenobi."

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
