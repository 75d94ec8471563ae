"""The generated benchmark corpus: deterministic, exact in size, non-repeating, and answerable."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from rag_claimcheck.data.corpus import MIB, Corpus, generate_corpus, main
from rag_claimcheck.rag.ingest import ingest
from rag_claimcheck.rag.models import SourceDocument
from rag_claimcheck.rag.retrieval import BM25Index

SIZE = 512 * 1024


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return generate_corpus(SIZE, questions=40)


def test_the_same_size_and_seed_give_the_same_bytes_and_questions(corpus: Corpus) -> None:
    again = generate_corpus(SIZE, questions=40)
    assert hashlib.sha256(again.encode()).digest() == hashlib.sha256(corpus.encode()).digest()
    assert again.questions == corpus.questions
    other = generate_corpus(SIZE, seed=8, questions=40)
    assert other.text != corpus.text


def test_a_prefix_of_a_larger_corpus_is_the_smaller_corpus(corpus: Corpus) -> None:
    assert generate_corpus(2 * SIZE).text[:SIZE] == corpus.text


@pytest.mark.parametrize("size", [1, 100, 4097, SIZE + 1])
def test_the_size_is_exact(size: int) -> None:
    assert len(generate_corpus(size).encode()) == size


def test_the_text_does_not_repeat(corpus: Corpus) -> None:
    headings = [line for line in corpus.text.splitlines() if line.startswith("## ")]
    assert len(headings) == corpus.sections > 200
    assert len(set(headings)) == len(headings)
    paragraphs = Counter(p for p in corpus.text.split("\n\n") if len(p) > 200)
    assert paragraphs.most_common(1)[0][1] == 1
    chunks = ingest(SourceDocument.from_bytes(corpus.encode(), filename="c.md", mime_type="text/markdown"))
    assert len(set(chunks.chunk_texts(corpus.text))) == chunks.chunk_count


def test_every_answer_is_where_the_question_says_in_the_section_it_names(corpus: Corpus) -> None:
    assert len(corpus.questions) == 40
    assert len({q.question for q in corpus.questions}) == 40
    assert len({q.section for q in corpus.questions}) == 40
    sections = corpus.text.split("\n## ")[1:]
    for q in corpus.questions:
        assert corpus.text[q.start : q.end] == q.answer_contains
        assert q.answer_contains in sections[q.section]
        name = sections[q.section].split("\n", 1)[0]
        assert name in q.question
    spread = sorted(q.section for q in corpus.questions)
    assert spread[0] < corpus.sections / 10 and spread[-1] > corpus.sections * 9 / 10


def test_questions_are_answerable_by_retrieval(corpus: Corpus) -> None:
    source = SourceDocument.from_bytes(corpus.encode(), filename="c.md", mime_type="text/markdown")
    index = BM25Index(ingest(source), source.text)
    hits = sum(
        any(q.answer_contains in p.text for p in index.search(q.question, 4)) for q in corpus.questions
    )
    assert hits >= 0.95 * len(corpus.questions)


def test_an_answer_cut_off_by_the_size_is_not_asked() -> None:
    for size in range(2_000, 6_000, 97):
        small = generate_corpus(size, questions=100)
        for q in small.questions:
            assert small.text[q.start : q.end] == q.answer_contains


def test_the_command_writes_the_file_and_the_questions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, qa = tmp_path / "c.md", tmp_path / "qa.json"
    main(["--size-mib", "0.25", "--out", str(out), "--questions", str(qa), "--count", "5"])
    assert out.stat().st_size == MIB // 4
    assert out.read_text() == generate_corpus(MIB // 4).text
    questions = json.loads(qa.read_text())
    assert len(questions) == 5
    assert set(questions[0]) == {"question", "answer_contains", "section", "start", "end"}
    assert "5 questions" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--size-mib", "0", "--out", "x"], "--size-mib must be positive"),
        (["--size-mib", "1", "--out", "x", "--count", "-1"], "--count must be zero or more"),
    ],
)
def test_the_command_refuses_nonsense(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err
