"""A deterministic benchmark corpus that does not repeat itself, with questions whose answers are known.

Every section describes one service with its own name, owner, numbers and sentences, so no two
sections (and no two chunks) share their text, unlike the scaled handbook, which repeats one
document. Each section states a handful of facts; the questions ask for them, and each question
records the verbatim answer and where it is in the text.

    python -m rag_claimcheck.corpus --size-mib 20 --out /tmp/corpus-20mib.md
    python -m rag_claimcheck.corpus --size-mib 20 --out /tmp/corpus-20mib.md --questions /tmp/qa.json

The same ``(size, seed)`` always gives the same bytes. The text is ASCII Markdown, so character
offsets and byte offsets agree.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

MIB = 1024 * 1024
DEFAULT_SEED = 7
SECTIONS_PER_PART = 24

_ONSETS = "b br c ch d dr f g gr h j k kl l m n p pr qu r s sh st t tr v w z".split()
_VOWELS = "a e i o u ai ea io ou".split()
_CODAS = ["", "l", "n", "r", "s", "th", "x", "nd", "rk", "st"]
_SYLLABLES = [o + v + c for o in _ONSETS for v in _VOWELS for c in _CODAS]
_KINDS = (
    "Queue Gateway Ledger Index Cache Relay Scheduler Vault Mirror Beacon Harbor Signal Archive "
    "Broker Router Catalog Registry Tracker Collector Planner"
).split()
_FIRST_NAMES = (
    "Ada Bram Celia Dario Elif Farid Greta Hiro Ines Jonas Keira Luis Mira Nadia Omar Priya Quinn Rosa "
    "Sven Tariq Uma Viktor Wen Xenia Yusuf Zora Amara Bjorn Chiara Dmitri Esme Felix Gita Hugo Ilse Jun"
).split()
_LAST_NAMES = (
    "Abara Bergstrom Castillo Dubois Eriksen Fonseca Gallagher Haddad Ishikawa Jansen Kowalski Lindqvist "
    "Moreau Nakamura Okafor Petrov Quintero Rasmussen Santos Takahashi Umarov Varga Whitfield Xu Yilmaz Zeller"
).split()
_TEAMS = (
    "Storage Messaging Identity Payments Search Media Edge Observability Data Platform Mobile Billing "
    "Compliance Growth Networking Reliability"
).split()
_REGIONS = (
    "us-east-1 us-west-2 eu-west-1 eu-central-1 ap-southeast-2 ap-northeast-1 sa-east-1 ca-central-1".split()
)
_AREAS = (
    "Ingestion Delivery Accounts Storage Discovery Messaging Payments Analytics Security Operations "
    "Notifications Media"
).split()
_NOUNS = (
    "request batch shard replica snapshot partition token session job worker node bucket index manifest "
    "certificate tenant lease checkpoint cursor upload thumbnail webhook alert dashboard runbook quota"
).split()
_VERBS = (
    "retries drains rotates compacts replays throttles rebalances validates archives promotes reindexes "
    "expires caches batches mirrors audits"
).split()
_ADJECTIVES = (
    "stale idle hot cold pending orphaned degraded oversized duplicate encrypted regional nightly partial "
    "expired throttled sharded"
).split()
_ADVERBS = "quietly eagerly lazily hourly nightly gradually immediately conservatively".split()
_TOOLS = "Grafana PagerDuty Terraform Vault Kafka Postgres Redis Envoy Prometheus Jaeger".split()


@dataclass(frozen=True)
class CorpusQuestion:
    """A question about one section, its verbatim answer, and where that answer is.

    ``start``/``end`` are character offsets into the generated text (also byte offsets: ASCII).
    """

    question: str
    answer_contains: str
    section: int
    start: int
    end: int


@dataclass(frozen=True)
class Corpus:
    """A generated document and questions about it."""

    text: str
    questions: list[CorpusQuestion]
    sections: int

    def encode(self) -> bytes:
        """The document as UTF-8 bytes."""
        return self.text.encode("utf-8")


@dataclass(frozen=True)
class _Section:
    text: str
    facts: list[tuple[str, str, int]]
    """(question, answer, offset of the answer in ``text``)"""


def _service_name(index: int, seed: int) -> str:
    """A name no other section of the same seed has: a bijection of ``index`` onto (word, kind)."""
    words = len(_SYLLABLES) ** 2
    space = words * len(_KINDS)
    # An odd multiplier is invertible modulo any power of two; the space is not one, so use a
    # multiplier coprime to the space instead (checked at import time below).
    mixed = (index * _MIXER + seed * 7919) % space
    word, kind = divmod(mixed, len(_KINDS))
    first, second = divmod(word, len(_SYLLABLES))
    return (_SYLLABLES[first] + _SYLLABLES[second]).capitalize() + " " + _KINDS[kind]


def _coprime_mixer(space: int) -> int:
    candidate = 2_654_435_761 % space
    while _gcd(candidate, space) != 1:
        candidate += 1
    return candidate


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


_NAME_SPACE = len(_SYLLABLES) ** 2 * len(_KINDS)
_MIXER = _coprime_mixer(_NAME_SPACE)


def _person(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _filler(rng: random.Random, svc: str) -> str:
    """One sentence of ordinary operational prose about ``svc``."""
    kind = rng.randrange(8)
    noun, noun2 = rng.choice(_NOUNS), rng.choice(_NOUNS)
    if kind == 0:
        return (
            f"When {_a(rng.choice(_ADJECTIVES))} {noun} shows up, {svc} {rng.choice(_VERBS)} it "
            f"{rng.choice(_ADVERBS)} and records the {noun2} id in ticket OPS-{rng.randrange(1000, 99999)}."
        )
    if kind == 1:
        return (
            f"The {rng.choice(_TOOLS)} dashboard for {svc} shows {rng.randrange(2, 40)} panels; "
            f"the one that matters most during an incident is {noun} latency at p{rng.choice((95, 99, 999))}."
        )
    if kind == 2:
        return (
            f"Each {noun} is written to {rng.randrange(2, 6)} replicas before {svc} acknowledges it, "
            f"and {_a(rng.choice(_ADJECTIVES))} {noun2} is retried at most {rng.randrange(2, 12)} times."
        )
    if kind == 3:
        return (
            f"In {rng.randrange(2016, 2027)} the {svc} service moved from {rng.choice(_REGIONS)} to "
            f"{rng.choice(_REGIONS)}, which cut {noun} latency by {rng.randrange(5, 70)} percent."
        )
    if kind == 4:
        host = f"{rng.choice(_SYLLABLES)}{rng.randrange(1, 400)}"
        return (
            f"Operators reach the admin console at {host}.internal:{rng.randrange(1024, 65535)} "
            f"and must not restart more than {rng.randrange(1, 9)} {noun} hosts at once."
        )
    if kind == 5:
        return (
            f"{_person(rng)} wrote the first version of the {noun} {rng.choice(_VERBS).rstrip('s')} logic, "
            f"and {_person(rng)} reviews changes to it."
        )
    if kind == 6:
        return (
            f"If the {noun2} {rng.choice(('backlog', 'error rate', 'queue depth', 'miss ratio'))} stays "
            f"above {rng.randrange(3, 95)} for {rng.randrange(2, 45)} minutes, {svc} "
            f"{rng.choice(_VERBS)} new {noun}s until it recovers."
        )
    return (
        f"Capacity reviews for {svc} happen every {rng.choice(('week', 'month', 'quarter'))}, "
        f"with {_a(rng.choice(_ADJECTIVES))} {noun} budget of {rng.randrange(10, 5000):,} units per "
        f"{rng.choice(('hour', 'day', 'node'))}."
    )


def _facts(rng: random.Random, svc: str) -> list[tuple[str, str, str]]:
    """(sentence, question, answer) for the facts a section states; the answer is in the sentence."""
    lag, minutes = rng.randrange(1_000, 500_000), rng.randrange(2, 60)
    days, region = rng.randrange(3, 400), rng.choice(_REGIONS)
    rate = rng.randrange(50, 20_000)
    team, lead = rng.choice(_TEAMS), _person(rng)
    hour, minute, window = rng.randrange(24), rng.choice((0, 15, 30, 45)), rng.randrange(20, 180)
    size, growth = rng.randrange(5, 9000), rng.randrange(1, 30)
    port = rng.randrange(1024, 65535)
    lag_answer = f"{lag:,} messages for {minutes} minutes"
    backup_answer = f"{days} days in {region}"
    rate_answer = f"{rate:,} requests per minute"
    window_answer = f"{hour:02d}:{minute:02d} UTC"
    size_answer = f"{size:,} GiB"
    port_answer = f"port {port}"
    return [
        (
            f"{svc} pages the on-call engineer when consumer lag exceeds {lag_answer}.",
            f"How much consumer lag on {svc} pages the on-call engineer?",
            lag_answer,
        ),
        (
            f"Backups of {svc} are kept for {backup_answer} and restored in a drill every quarter.",
            f"How long are backups of {svc} kept, and where?",
            backup_answer,
        ),
        (
            f"A client of {svc} may make {rate_answer} before it is answered with HTTP 429.",
            f"What is the rate limit for a client of {svc}?",
            rate_answer,
        ),
        (
            f"{svc} belongs to the {team} team, led by {lead}.",
            f"Who leads the team that owns {svc}?",
            lead,
        ),
        (
            f"Deploys of {svc} run in a {window}-minute window that opens at {window_answer}.",
            f"When does the deploy window of {svc} open?",
            window_answer,
        ),
        (
            f"The {svc} database holds {size_answer} and grows about {growth} percent a month.",
            f"How large is the {svc} database?",
            size_answer,
        ),
        (
            f"The health endpoint of {svc} listens on {port_answer}.",
            f"Which port does the health endpoint of {svc} listen on?",
            port_answer,
        ),
    ]


def _section(index: int, seed: int) -> _Section:
    rng = random.Random(f"{seed}:{index}")
    svc = _service_name(index, seed)
    facts = _facts(rng, svc)
    rng.shuffle(facts)
    facts = facts[: rng.randrange(3, len(facts) + 1)]
    parts = [f"## {svc}\n\n"]
    offsets: list[tuple[str, str, int]] = []
    pos = len(parts[0])
    paragraphs = rng.randrange(2, 5)
    for p in range(paragraphs):
        sentences = [_filler(rng, svc) for _ in range(rng.randrange(2, 6))]
        own = facts[p::paragraphs]
        slots = sorted(rng.sample(range(len(sentences) + len(own)), len(own)))
        for slot, fact in zip(slots, own, strict=True):
            sentences.insert(slot, fact[0])
        if rng.random() < 0.25:
            body = "".join(f"- {s}\n" for s in sentences)
        else:
            body = " ".join(sentences) + "\n"
        for sentence, question, answer in own:
            at = body.index(sentence) + sentence.index(answer)
            offsets.append((question, answer, pos + at))
        text = body + "\n"
        parts.append(text)
        pos += len(text)
    return _Section(text="".join(parts), facts=offsets)


def _part_heading(part: int, seed: int) -> str:
    rng = random.Random(f"{seed}:part:{part}")
    return (
        f"# Part {part + 1}: {rng.choice(_AREAS)} and {rng.choice(_AREAS)}\n\n"
        f"This part covers {SECTIONS_PER_PART} services run by the {rng.choice(_TEAMS)} and "
        f"{rng.choice(_TEAMS)} teams; its maintainer is {_person(rng)}.\n\n"
    )


def _pieces(seed: int) -> Iterator[tuple[str, _Section | None, int]]:
    """(text, the section it is or None for a heading, section index), forever."""
    yield "# Service Operations Handbook (generated)\n\n", None, -1
    index = 0
    while True:
        if index % SECTIONS_PER_PART == 0:
            yield _part_heading(index // SECTIONS_PER_PART, seed), None, -1
        section = _section(index, seed)
        yield section.text, section, index
        index += 1


def write_corpus(
    out: TextIO, size_bytes: int, *, seed: int = DEFAULT_SEED, questions: int = 30, progress: bool = False
) -> list[CorpusQuestion]:
    """Write exactly ``size_bytes`` of generated Markdown to ``out``; return questions about it.

    The questions ask about sections spread evenly over the whole text, one per section, and only
    about answers that are completely inside the ``size_bytes``. Fewer come back if the text has
    fewer sections than ``questions``.
    """
    if size_bytes < 1:
        raise ValueError(f"size_bytes must be positive; got {size_bytes}")
    if questions < 0:
        raise ValueError(f"questions must be zero or more; got {questions}")
    bar = _progress_bar(size_bytes) if progress else None
    written = 0
    candidates: list[list[CorpusQuestion]] = []
    for text, section, index in _pieces(seed):
        take = text[: size_bytes - written]
        out.write(take)
        if section is not None:
            candidates.append(
                [
                    CorpusQuestion(q, a, index, written + at, written + at + len(a))
                    for q, a, at in section.facts
                    if at + len(a) <= len(take)
                ]
            )
        written += len(take)
        if bar is not None:
            bar.update(len(take))
        if written >= size_bytes:
            break
    if bar is not None:
        bar.close()
    return _spread(candidates, questions, seed)


def _spread(candidates: list[list[CorpusQuestion]], count: int, seed: int) -> list[CorpusQuestion]:
    answerable = [facts for facts in candidates if facts]
    if not answerable or count == 0:
        return []
    count = min(count, len(answerable))
    rng = random.Random(f"{seed}:questions")
    step = len(answerable) / count
    return [rng.choice(answerable[int(i * step + step / 2)]) for i in range(count)]


def _progress_bar(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="corpus", file=sys.stderr)


def generate_corpus(size_bytes: int, *, seed: int = DEFAULT_SEED, questions: int = 30) -> Corpus:
    """The generated document of exactly ``size_bytes`` (ASCII, so also characters) and questions about it."""
    buffer = io.StringIO()
    found = write_corpus(buffer, size_bytes, seed=seed, questions=questions)
    text = buffer.getvalue()
    sections = sum(1 for line in text.splitlines() if line.startswith("## "))
    return Corpus(text=text, questions=found, sections=sections)


def main(argv: list[str] | None = None) -> None:
    """Write a generated corpus of a given size, and optionally its questions as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m rag_claimcheck.corpus",
        description=(
            "Write a deterministic, non-repeating Markdown corpus (one section per service, each with its "
            "own names and numbers) of an exact size, plus questions whose answers are known."
        ),
    )
    parser.add_argument(
        "--size-mib", type=float, required=True, help="size of the output in MiB (e.g. 20 or 0.5)"
    )
    parser.add_argument("--out", type=Path, required=True, help="file to write (.md)")
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"generator seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--questions",
        type=Path,
        help="also write the questions as JSON: [{question, answer_contains, section, start, end}, ...]",
    )
    parser.add_argument("--count", type=int, default=30, help="how many questions (default 30)")
    args = parser.parse_args(argv)
    if args.size_mib <= 0:
        parser.error("--size-mib must be positive")
    if args.count < 0:
        parser.error("--count must be zero or more")
    size = int(args.size_mib * MIB)
    if size < 1:
        parser.error("--size-mib is below one byte")
    with args.out.open("w", encoding="ascii", newline="") as out:
        found = write_corpus(out, size, seed=args.seed, questions=args.count, progress=size >= 8 * MIB)
    if args.questions is not None:
        args.questions.write_text(json.dumps([asdict(q) for q in found], indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, {len(found)} questions)")


if __name__ == "__main__":
    main()
