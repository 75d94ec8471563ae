"""What a soak asks: jobs over generated documents of mixed sizes, some of them conversations.

Every job is fixed by the plan's seed, so a quiet run and a chaos run ask the same questions of
the same bytes and their answers can be compared one for one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from rag_claimcheck.data.corpus import generate_corpus
from rag_claimcheck.data.samples import DEFAULT_QUESTION
from rag_claimcheck.rag.models import SourceDocument

KIB = 1024
MIB = 1024 * KIB
DOCUMENT_SIZES = (1 * KIB, 32 * KIB, 256 * KIB, 2 * MIB, 12 * MIB, 20 * MIB)
"""From a document that stays inline in history to ones stored before the workflow starts (over 8 MiB)."""
SIZE_WEIGHTS = (30, 25, 20, 15, 5, 5)
QUESTIONS_PER_DOCUMENT = 12


@dataclass(frozen=True)
class Document:
    """A generated document, its UTF-8 bytes and questions whose answers it holds."""

    source: SourceDocument
    data: bytes
    questions: tuple[str, ...]


@dataclass(frozen=True)
class Job:
    """One workflow of the soak: a question, or a conversation of several turns."""

    index: int
    size: int
    """The document's size in bytes (the key of its :class:`Document`)."""
    questions: tuple[str, ...]
    conversation: bool

    @property
    def kind(self) -> str:
        return "conversation" if self.conversation else "question"


def documents(sizes: tuple[int, ...], *, seed: int) -> dict[int, Document]:
    """One generated document per size (the same bytes for the same seed)."""
    made = {}
    for size in sizes:
        corpus = generate_corpus(size, seed=seed, questions=QUESTIONS_PER_DOCUMENT)
        questions = tuple(q.question for q in corpus.questions) or (DEFAULT_QUESTION,)
        data = corpus.encode()
        source = SourceDocument.from_bytes(data, filename=f"corpus-{size}.md", mime_type="text/markdown")
        made[size] = Document(source=source, data=data, questions=questions)
    return made


def plan_jobs(
    count: int,
    docs: dict[int, Document],
    *,
    weights: tuple[int, ...],
    conversation_share: float,
    turns: int,
    seed: int,
) -> list[Job]:
    """``count`` jobs: sizes drawn by ``weights``, a ``conversation_share`` of them conversations of ``turns`` turns.

    Conversations are only over documents up to 2 MiB (a turn re-reads the document on a cache miss).
    """
    rng = random.Random(f"{seed}:jobs")
    sizes = sorted(docs)
    jobs = []
    for index in range(count):
        size = rng.choices(sizes, weights=weights[: len(sizes)])[0]
        asks = docs[size].questions
        conversation = size <= 2 * MIB and rng.random() < conversation_share
        picked = tuple(rng.choice(asks) for _ in range(turns if conversation else 1))
        jobs.append(Job(index=index, size=size, questions=picked, conversation=conversation))
    return jobs
