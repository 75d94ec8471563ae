"""Answerers: an offline extractive one (the default) and OpenAI Chat Completions.

``answerer_from_env()`` picks OpenAI when ``OPENAI_API_KEY`` is set (``OPENAI_BASE_URL`` points it
at any OpenAI-compatible server, e.g. Ollama or vLLM) and the extractive answerer otherwise.
The ``openai`` package is imported only when the OpenAI answerer is built.
"""

from __future__ import annotations

import math
import os
import re
from abc import ABC, abstractmethod
from collections import Counter
from typing import Any

from temporalio.exceptions import ApplicationError

from rag_claimcheck.rag import errors
from rag_claimcheck.rag.models import Answer, AnswerRequest
from rag_claimcheck.rag.tokenize import tokenize

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
DEFAULT_LLM_TIMEOUT_SECONDS = 60.0
EXTRACTIVE_SENTENCES = 3
EXTRACTIVE_MODEL = "extractive (offline)"

SYSTEM_PROMPT = (
    "You answer questions about one document using only the numbered passages provided. "
    "Cite passages as [chunk N]. If the passages do not contain the answer, say so."
)

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"')\]*_`]*\s+|\n+")
_MARKUP = re.compile(r"\*\*|__|`|^\s*(?:#+|[-*+]|\d+\.)\s+|^\s*\|.*\|\s*$")


def sentences(text: str) -> list[str]:
    """Sentences and list items of a passage, with Markdown markup removed."""
    out = []
    for piece in _SENTENCE_BREAK.split(text):
        clean = " ".join(_MARKUP.sub("", piece).split())
        if clean:
            out.append(clean)
    return out


class Answerer(ABC):
    """Turns a question and retrieved passages into an answer."""

    @abstractmethod
    async def answer(self, request: AnswerRequest) -> Answer:
        """Answer ``request``."""


class ExtractiveAnswerer(Answerer):
    """Composes an answer from the retrieved sentences that best match the question.

    Deterministic: sentences are scored by the idf-weighted overlap of their words with the
    question (idf over the retrieved sentences), ties broken by passage rank, then position.
    """

    def __init__(self, max_sentences: int = EXTRACTIVE_SENTENCES) -> None:
        if max_sentences < 1:
            raise ValueError(f"max_sentences must be at least 1; got {max_sentences}")
        self.max_sentences = max_sentences

    async def answer(self, request: AnswerRequest) -> Answer:
        question = set(tokenize(request.question))
        candidates: list[tuple[int, int, str, set[str]]] = []
        for rank, passage in enumerate(request.passages):
            for pos, sentence in enumerate(sentences(passage.text)):
                words = set(tokenize(sentence))
                if len(sentence) >= 12 and words:
                    candidates.append((rank, pos, sentence, words))
        if not candidates or not question:
            return Answer(
                text="Extractive answer: the document has no passage that matches this question.",
                model=EXTRACTIVE_MODEL,
                extractive=True,
                cited_chunks=[],
            )
        df = Counter(w for *_, words in candidates for w in words)
        n = len(candidates)

        def score(words: set[str]) -> float:
            return sum(math.log(1 + n / df[w]) for w in question & words)

        ranked = sorted(candidates, key=lambda c: (-score(c[3]), c[0], c[1]))
        chosen = [c for c in ranked[: self.max_sentences] if score(c[3]) > 0] or ranked[:1]
        parts, cited = [], []
        seen: set[str] = set()
        for rank, _pos, sentence, _words in chosen:
            if sentence in seen:
                continue
            seen.add(sentence)
            chunk = request.passages[rank].chunk_index
            parts.append(f"{sentence} [chunk {chunk}]")
            if chunk not in cited:
                cited.append(chunk)
        return Answer(
            text="Extractive answer (no LLM configured; quoted from the document): " + " ".join(parts),
            model=EXTRACTIVE_MODEL,
            extractive=True,
            cited_chunks=cited,
        )


def build_messages(request: AnswerRequest) -> list[dict[str, str]]:
    """Chat messages: system prompt, the whole conversation so far, then passages + question."""
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    for turn in request.history:
        messages.append({"role": "user", "content": turn.question})
        messages.append({"role": "assistant", "content": turn.answer})
    context = "\n\n".join(f"[chunk {p.chunk_index}]\n{p.text}" for p in request.passages)
    messages.append({"role": "user", "content": f"Passages:\n{context}\n\nQuestion: {request.question}"})
    return messages


class OpenAIAnswerer(Answerer):
    """Chat Completions through the official ``openai`` client.

    The client's own retries are off: rate limits, timeouts and 5xx are raised as retryable
    ``ApplicationError``s and left to the activity's retry policy (visible in history); auth and
    bad-request errors are non-retryable.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        model: str = DEFAULT_OPENAI_MODEL,
        timeout: float = DEFAULT_LLM_TIMEOUT_SECONDS,
    ) -> None:
        import openai

        if not api_key:
            raise ValueError("OpenAIAnswerer needs an API key (OPENAI_API_KEY)")
        self.model = model
        self._client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout)

    async def answer(self, request: AnswerRequest) -> Answer:
        import openai

        try:
            completion = await self._client.chat.completions.create(
                model=self.model,
                messages=build_messages(request),  # type: ignore[arg-type] # plain dicts are accepted
                temperature=0,
            )
        except openai.APIStatusError as e:
            raise classify_status_error(e.status_code, str(e), e.response.headers.get("retry-after")) from e
        except (openai.APITimeoutError, openai.APIConnectionError) as e:
            raise ApplicationError(
                f"LLM endpoint unreachable or timed out: {e}",
                type=errors.LLM_UNAVAILABLE,
                non_retryable=False,
            ) from e
        text = (completion.choices[0].message.content or "").strip() if completion.choices else ""
        cited = sorted({int(n) for n in re.findall(r"\[chunk (\d+)\]", text)})
        return Answer(text=text, model=completion.model or self.model, extractive=False, cited_chunks=cited)


def classify_status_error(status: int, message: str, retry_after: str | None = None) -> ApplicationError:
    """Map an HTTP status from the LLM endpoint to a retryable or non-retryable ``ApplicationError``."""
    from datetime import timedelta

    if status in (401, 403):
        return ApplicationError(
            f"LLM rejected the credentials (HTTP {status}): {message}",
            type=errors.LLM_AUTHENTICATION,
            non_retryable=True,
        )
    if status == 429:
        delay: Any = None
        if retry_after and retry_after.replace(".", "", 1).isdigit():
            delay = timedelta(seconds=float(retry_after))
        return ApplicationError(
            f"LLM rate limit (HTTP 429): {message}",
            type=errors.LLM_RATE_LIMITED,
            non_retryable=False,
            next_retry_delay=delay,
        )
    if status >= 500 or status == 408:
        return ApplicationError(
            f"LLM server error (HTTP {status}): {message}", type=errors.LLM_UNAVAILABLE, non_retryable=False
        )
    return ApplicationError(
        f"LLM rejected the request (HTTP {status}): {message}",
        type=errors.LLM_BAD_REQUEST,
        non_retryable=True,
    )


def answerer_from_env(env: dict[str, str] | None = None) -> Answerer:
    """OpenAI if ``OPENAI_API_KEY`` is set (model from ``RAG_LLM_MODEL``), else extractive.

    ``RAG_ANSWERER=extractive`` forces the offline answerer even with a key.
    """
    env = dict(os.environ) if env is None else env
    choice = env.get("RAG_ANSWERER", "auto")
    if choice not in ("auto", "openai", "extractive"):
        raise ValueError(f"RAG_ANSWERER must be auto, openai or extractive; got {choice!r}")
    key = env.get("OPENAI_API_KEY", "")
    if choice == "extractive" or (choice == "auto" and not key):
        return ExtractiveAnswerer()
    if not key:
        raise ValueError("RAG_ANSWERER=openai needs OPENAI_API_KEY")
    return OpenAIAnswerer(
        api_key=key,
        base_url=env.get("OPENAI_BASE_URL") or None,
        model=env.get("RAG_LLM_MODEL") or DEFAULT_OPENAI_MODEL,
    )
