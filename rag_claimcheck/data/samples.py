"""The bundled sample document, its question/answer set, and a deterministic scaler.

python -m rag_claimcheck.samples --size-mib 5 --out /tmp/handbook-5mib.md
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).parent
SAMPLE_DOCUMENT = DATA_DIR / "handbook.md"
SAMPLE_QA = DATA_DIR / "qa.json"
DEFAULT_QUESTION = "How much consumer lag on Shoal pages the on-call engineer?"


@dataclass(frozen=True)
class QAPair:
    """A question and a verbatim phrase from the one passage that answers it."""

    question: str
    answer_contains: str


def sample_text() -> str:
    """The bundled handbook (about 220 KB of Markdown)."""
    return SAMPLE_DOCUMENT.read_text(encoding="utf-8")


def sample_qa() -> list[QAPair]:
    """The question/answer set over the handbook."""
    return [QAPair(**item) for item in json.loads(SAMPLE_QA.read_text(encoding="utf-8"))]


def scaled_document(size_bytes: int) -> bytes:
    """Exactly ``size_bytes`` of UTF-8 Markdown: the handbook repeated as numbered volumes.

    Deterministic, so the same size always gives the same bytes (and the same sha256).
    """
    if size_bytes < 1:
        raise ValueError(f"size_bytes must be positive; got {size_bytes}")
    base = sample_text()
    parts: list[str] = []
    total = 0
    volume = 1
    while total < size_bytes:
        part = f"\n\n# Volume {volume}\n\n{base}" if volume > 1 else base
        parts.append(part)
        total += len(part.encode("utf-8"))
        volume += 1
    data = "".join(parts).encode("utf-8")[:size_bytes]
    text = data.decode("utf-8", "ignore")  # never end in half a character
    return text.encode("utf-8").ljust(size_bytes, b"\n")


def main(argv: list[str] | None = None) -> None:
    """Write a scaled copy of the handbook."""
    parser = argparse.ArgumentParser(description="Write the sample handbook scaled to a given size.")
    parser.add_argument(
        "--size-mib", type=float, required=True, help="size of the output in MiB (e.g. 5 or 0.5)"
    )
    parser.add_argument("--out", type=Path, required=True, help="file to write (.md)")
    args = parser.parse_args(argv)
    if args.size_mib <= 0:
        parser.error("--size-mib must be positive")
    args.out.write_bytes(scaled_document(int(args.size_mib * 1024 * 1024)))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
