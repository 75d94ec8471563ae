"""A local OpenAI-compatible Chat Completions server for tests: scripted statuses, recorded requests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class OpenAIStub:
    """Answers ``POST /v1/chat/completions``; ``script`` lists HTTP statuses to return first,
    ``delays`` seconds to wait before each of the first answers (a slow model)."""

    base_url: str = ""
    script: list[int] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    reply: str = "Consumer lag above 45,000 messages for ten minutes pages on-call [chunk 3]."

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if self.delays:
            await asyncio.sleep(self.delays.pop(0))
        status = self.script.pop(0) if self.script else 200
        if status != 200:
            error = {"error": {"message": f"scripted {status}", "type": "test", "code": str(status)}}
            return web.json_response(
                error, status=status, headers={"retry-after": "0"} if status == 429 else None
            )
        return web.json_response(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": self.reply},
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )


@asynccontextmanager
async def openai_stub() -> AsyncIterator[OpenAIStub]:
    """Serve an :class:`OpenAIStub` on a free loopback port for the duration of the block."""
    stub = OpenAIStub()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", stub.handle)
    runner = web.AppRunner(app, shutdown_timeout=1.0)  # a scripted slow answer is not waited out
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)  # the OS picks the port: no race with other tests
    await site.start()
    port = runner.addresses[0][1]
    stub.base_url = f"http://127.0.0.1:{port}/v1"
    try:
        yield stub
    finally:
        await runner.cleanup()


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)
