"""The aiohttp application: routes, the request guard (Host, CORS preflight, auth, errors), start/stop."""

from __future__ import annotations

import functools
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload

from rag_claimcheck.claimcheck.codec import ClaimCheckCodec
from rag_claimcheck.claimcheck.concurrency import gather_bounded
from rag_claimcheck.claimcheck.errors import (
    ClaimCheckError,
    ClaimCheckPayloadMissing,
    ClaimCheckPayloadTooLarge,
    ClaimCheckReferenceInvalid,
    ClaimCheckStoreUnavailable,
)
from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.codec_server.access import KeyRejected, KeyScope, link_is_valid, sign_link
from rag_claimcheck.codec_server.budget import DecodeBudget
from rag_claimcheck.codec_server.options import (
    DEFAULT_HOST,
    CodecServerOptions,
    normalize_origin,
    with_loopback_twins,
)
from rag_claimcheck.codec_server.resolve import Claim, Redeemed, Resolver
from rag_claimcheck.storage.base import BlobStore

log = logging.getLogger(__name__)

ALLOWED_METHODS = "GET, HEAD, POST, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"
PREFLIGHT_MAX_AGE_SECONDS = 600
COMPRESS_RESPONSES_OVER_BYTES = 64 * 1024
"""JSON and blob responses larger than this are gzip/deflate-compressed when the client accepts it."""

# Any mount point works: the protocol says only the last path segment names the operation.
_PREFIX = "{prefix:(?:[^/]+/)*}"

_JSON_ENCODINGS = ("json/plain", "json/protobuf")


class Refusal(Exception):
    """A request the server answers with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_response(status: int, message: str, *, headers: dict[str, str] | None = None) -> web.Response:
    """A small JSON error body: never a traceback, never a secret."""
    return web.json_response({"error": message}, status=status, headers=headers)


def content_type_for(encoding: str) -> tuple[str, str | None]:
    """(content type, charset) for a payload ``encoding``; never anything a browser would execute."""
    if encoding in _JSON_ENCODINGS:
        return "application/json", "utf-8"
    if encoding.startswith("text/"):
        return "text/plain", "utf-8"
    return "application/octet-stream", None


@dataclass
class CorsPolicy:
    """The browser origins allowed to read responses; the embedded stack adds its UI's origin."""

    origins: set[str] = field(default_factory=set)

    def allow(self, origin: str) -> None:
        """Allow ``origin`` (normalized, with its ``localhost``/``127.0.0.1`` twin) from now on."""
        self.origins.update(with_loopback_twins([origin]))

    def allows(self, origin: str) -> bool:
        """Whether responses to ``origin`` get ``Access-Control-Allow-Origin``."""
        try:
            return normalize_origin(origin) in self.origins
        except ValueError:
            return False


class CodecService:
    """State and handlers of one codec server.

    Args:
        store: Where the blobs are (the same store the workers use).
        settings: Key prefix, concurrency, decompression cap and, for ``/encode``, the codec's knobs.
        options: Auth, CORS, display limit, request size.
    """

    def __init__(
        self, *, store: BlobStore, settings: ClaimCheckSettings, options: CodecServerOptions
    ) -> None:
        self.settings = settings
        self.options = options
        self.codec = ClaimCheckCodec.from_settings(store, settings)
        self.resolver = Resolver(
            self.codec.vault, display_max_bytes=options.display_max_bytes, driver_names=options.driver_names
        )
        self.cors = CorsPolicy()
        for origin in options.cors_origins:
            self.cors.allow(origin)

    # --- the guard every request passes -------------------------------------------------------

    def check_host(self, request: web.Request) -> None:
        """Refuse a ``Host`` header that is not ours (a DNS-rebinding page uses its own name)."""
        if self.options.any_host:
            return
        hostname = urlsplit("//" + request.headers.get("Host", "")).hostname or ""
        if hostname not in self.options.allowed_hosts:
            raise Refusal(403, f"Host {hostname!r} is not allowed; see --allowed-host")

    def check_auth(self, request: web.Request) -> None:
        """With a token: the bearer token, or (for a blob link) a valid signature; else 401."""
        token = self.options.token
        if token is None:
            return
        scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(supplied.strip().encode(), token.encode()):
            return
        if request.method in ("GET", "HEAD") and link_is_valid(token, request.query, now=time.time()):
            return
        raise Refusal(
            401,
            "missing or wrong bearer token",
            headers={"WWW-Authenticate": 'Bearer realm="rag-claimcheck codec server"'},
        )

    def preflight(self, request: web.Request) -> web.Response:
        """Answer a CORS preflight (``OPTIONS``); the origin check happens in :meth:`add_headers`."""
        headers = {
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
        }
        origin = request.headers.get("Origin", "")
        if request.headers.get("Access-Control-Request-Private-Network") == "true" and self.cors.allows(
            origin
        ):
            headers["Access-Control-Allow-Private-Network"] = "true"
        return web.Response(status=204, headers=headers)

    async def add_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        """CORS headers for allowed origins and safe defaults on every response."""
        origin = request.headers.get("Origin")
        if origin and self.cors.allows(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
        vary = response.headers.get("Vary")
        response.headers["Vary"] = f"{vary}, Origin" if vary else "Origin"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Cache-Control", "no-store")

    # --- request helpers ----------------------------------------------------------------------

    def namespace_of(self, request: web.Request) -> str:
        """The request's namespace: the ``X-Namespace`` header (the CLI may send it empty)."""
        return request.headers.get("X-Namespace", "").strip() or self.options.default_namespace

    def scope_for(self, namespace: str) -> KeyScope:
        try:
            return KeyScope(namespace, key_prefix=self.settings.key_prefix)
        except KeyRejected as e:
            raise Refusal(e.status, str(e)) from None

    async def read_payloads(self, request: web.Request) -> tuple[list[dict[str, Any]], list[Payload]]:
        """The request's ``{"payloads": [...]}`` as given (JSON) and parsed (protobuf)."""
        if request.content_type != "application/json":
            raise Refusal(415, "Content-Type must be application/json")
        raw = await request.read()  # aiohttp answers 413 beyond client_max_size
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise Refusal(400, "request body is not valid JSON") from None
        except RecursionError:  # json's own depth guard on e.g. 200 KB of "["
            raise Refusal(400, "request body is nested too deeply to be a list of payloads") from None
        if not isinstance(body, dict) or not isinstance(body.get("payloads"), list):
            raise Refusal(400, 'request body must be {"payloads": [...]}')
        items: list[dict[str, Any]] = body["payloads"]
        payloads: list[Payload] = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise Refusal(400, f"payloads[{index}] must be a JSON object")
            payload = Payload()
            try:
                json_format.ParseDict(item, payload, ignore_unknown_fields=True)
            except RecursionError:
                raise Refusal(400, f"payloads[{index}] is nested too deeply to be a Payload") from None
            except json_format.ParseError as e:
                raise Refusal(
                    400, f"payloads[{index}] is not a Payload in protobuf JSON: {str(e)[:200]}"
                ) from None
            payloads.append(payload)
        return items, payloads

    def link_base(self, request: web.Request) -> str:
        """Where this mount's ``blob`` route is, as the client sees it."""
        if self.options.public_url:
            return f"{self.options.public_url}/blob"
        return f"{request.scheme}://{request.host}/{request.match_info.get('prefix', '')}blob"

    def blob_link(self, base: str, namespace: str, claim: Claim, redeemed: Redeemed) -> str:
        params = {
            "key": claim.key,
            "namespace": namespace,
            "compression": redeemed.compression,
            "encoding": redeemed.payload.metadata.get("encoding", b"").decode("utf-8", "replace"),
        }
        if self.options.token:
            expires = int(time.time()) + self.options.link_ttl_seconds
            params["expires"] = str(expires)
            params["sig"] = sign_link(self.options.token, params, expires=expires)
        return f"{base}?{urlencode(params)}"

    # --- routes -------------------------------------------------------------------------------

    async def decode(self, request: web.Request) -> web.Response:
        """``POST /decode``: references become the original payloads (or summaries)."""
        items, payloads = await self.read_payloads(request)
        namespace = self.namespace_of(request)
        scope = self.scope_for(namespace)
        base = self.link_base(request)
        link = functools.partial(self.blob_link, base, namespace)
        budget = DecodeBudget(self.options.max_decode_bytes)
        decoded = await gather_bounded(
            payloads,
            lambda p: self.resolver.decode(p, scope=scope, link=link, budget=budget),
            limit=self.settings.concurrency,
        )
        out = [
            item if result is payload else json_format.MessageToDict(result)
            for item, payload, result in zip(items, payloads, decoded, strict=True)
        ]
        return _json({"payloads": out})

    async def encode(self, request: web.Request) -> web.Response:
        """``POST /encode``: the claim-check codec (or pass-through, with ``encode='passthrough'``)."""
        items, payloads = await self.read_payloads(request)
        self.scope_for(self.namespace_of(request))
        if self.options.encode == "passthrough":
            return _json({"payloads": items})
        try:
            encoded = await self.codec.encode(payloads)
        except ClaimCheckPayloadTooLarge as e:
            raise Refusal(413, e.message) from None
        except ClaimCheckStoreUnavailable as e:
            raise Refusal(503, f"{e.error_type}: the blob store is unavailable") from None
        return _json({"payloads": [json_format.MessageToDict(p) for p in encoded]})

    async def blob(self, request: web.Request) -> web.Response:
        """``GET /blob?key=…``: the full data of one stored payload, with a harmless content type."""
        key = request.query.get("key", "")
        if not key:
            raise Refusal(400, "query parameter 'key' is required")
        namespace = request.query.get("namespace", "").strip() or self.namespace_of(request)
        try:
            location = self.scope_for(namespace).locate(key)
            data, stored_encoding = await self.resolver.read_blob(
                location, compression=request.query.get("compression", "none")
            )
        except KeyRejected as e:
            raise Refusal(e.status, str(e)) from None
        except ClaimCheckPayloadMissing:
            raise Refusal(404, f"no blob under this key [key={key}]") from None
        except ClaimCheckStoreUnavailable as e:
            raise Refusal(503, f"{e.error_type}: the blob store is unavailable") from None
        except ClaimCheckReferenceInvalid as e:
            raise Refusal(400, e.message) from None
        except ClaimCheckError as e:
            raise Refusal(502, f"{e.error_type}: {e.message}") from None
        encoding = stored_encoding or request.query.get("encoding", "")
        content_type, charset = content_type_for(encoding)
        name = key.rsplit("/", 1)[-1] + (".json" if content_type == "application/json" else "")
        response = web.Response(
            body=data,
            content_type=content_type,
            charset=charset,
            headers={
                "Content-Disposition": f'inline; filename="{name}"',
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "X-Claim-Check-Encoding": encoding,
            },
        )
        if len(data) > COMPRESS_RESPONSES_OVER_BYTES:
            response.enable_compression()
        return response


def _json(body: dict[str, Any]) -> web.Response:
    text = json.dumps(body, separators=(",", ":"))
    response = web.Response(text=text, content_type="application/json")
    if len(text) > COMPRESS_RESPONSES_OVER_BYTES:
        response.enable_compression()
    return response


SERVICE_KEY = web.AppKey("codec_service", CodecService)

_HTTP_MESSAGES = {404: "no such route", 405: "method not allowed"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Host check, CORS preflight, auth, then the route; every failure becomes a small JSON error."""
    service = request.app[SERVICE_KEY]
    try:
        service.check_host(request)
        if request.method == "OPTIONS":
            return service.preflight(request)
        service.check_auth(request)
        return await handler(request)
    except Refusal as e:
        return error_response(e.status, e.message, headers=e.headers)
    except web.HTTPRequestEntityTooLarge:
        limit = service.options.max_request_bytes
        return error_response(413, f"request body is larger than the limit of {limit} bytes")
    except web.HTTPException as e:
        if e.status < 400:
            raise
        return error_response(e.status, _HTTP_MESSAGES.get(e.status, e.reason.lower()))
    except Exception:
        log.exception("codec server failed on %s %s", request.method, request.path)
        return error_response(500, "internal error; see the codec server's log")


def create_app(
    *,
    store: BlobStore,
    settings: ClaimCheckSettings | None = None,
    options: CodecServerOptions | None = None,
) -> web.Application:
    """The codec server as an aiohttp application (the caller owns and closes ``store``).

    Args:
        store: The blob store the workers write to.
        settings: Key prefix, concurrency, caps and ``/encode`` knobs; default from ``CLAIM_CHECK_*``.
        options: Auth, CORS and limits; default :class:`CodecServerOptions` (no token, dev-server UI).
    """
    settings = settings or ClaimCheckSettings.from_env()
    options = options or CodecServerOptions()
    service = CodecService(store=store, settings=settings, options=options)
    app = web.Application(middlewares=[guard], client_max_size=options.max_request_bytes)
    app[SERVICE_KEY] = service
    app.on_response_prepare.append(service.add_headers)
    app.router.add_post(f"/{_PREFIX}decode", service.decode)
    app.router.add_post(f"/{_PREFIX}encode", service.encode)
    app.router.add_get(f"/{_PREFIX}blob", service.blob)
    return app


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


@dataclass
class RunningCodecServer:
    """A codec server serving in this process; ``url`` is what ``--ui-codec-endpoint`` takes."""

    url: str
    host: str
    port: int
    app: web.Application
    _runner: web.AppRunner = field(repr=False)

    def allow_origin(self, origin: str) -> None:
        """Let a Web UI at ``origin`` call the server (e.g. once the dev server has picked its port)."""
        self.app[SERVICE_KEY].cors.allow(origin)

    async def stop(self) -> None:
        """Stop serving. Safe to call twice; the store stays open (its owner closes it)."""
        await self._runner.cleanup()

    async def __aenter__(self) -> RunningCodecServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def start_codec_server(
    *,
    store: BlobStore,
    host: str = DEFAULT_HOST,
    port: int = 0,
    settings: ClaimCheckSettings | None = None,
    options: CodecServerOptions | None = None,
) -> RunningCodecServer:
    """Serve :func:`create_app` on ``host:port`` (port 0: a free one) and return once it listens."""
    app = create_app(store=store, settings=settings, options=options)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = int(runner.addresses[0][1])
    except BaseException:
        await runner.cleanup()
        raise
    return RunningCodecServer(
        url=f"http://{_url_host(host)}:{bound_port}", host=host, port=bound_port, app=app, _runner=runner
    )
