"""``python -m rag_claimcheck.codec_server``: serve the codec server until Ctrl-C or SIGTERM.

Examples:
    python -m rag_claimcheck.codec_server                          # 127.0.0.1:8081, blobs per CLAIM_CHECK_STORE
    python -m rag_claimcheck.codec_server --store s3 --port 8081
    CLAIM_CHECK_CODEC_TOKEN=s3cret python -m rag_claimcheck.codec_server
        then: temporal workflow show -w ID --codec-endpoint http://127.0.0.1:8081 --codec-auth "Bearer s3cret"
    python -m rag_claimcheck.codec_server --host 0.0.0.0 --allowed-host localhost   # in a container
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import sys
from types import FrameType

from aiohttp import web
from aiohttp.web_runner import GracefulExit

from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.claimcheck.stores import open_store
from rag_claimcheck.codec_server.app import create_app
from rag_claimcheck.codec_server.options import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ENCODE_MODES,
    ENV_ALLOWED_HOSTS,
    ENV_CORS_ORIGINS,
    ENV_DISPLAY_MAX_BYTES,
    ENV_ENCODE,
    ENV_HOST,
    ENV_MAX_DECODE_BYTES,
    ENV_MAX_REQUEST_BYTES,
    ENV_NAMESPACE,
    ENV_PORT,
    ENV_PUBLIC_URL,
    ENV_TOKEN,
    CodecServerOptions,
)

log = logging.getLogger("rag_claimcheck.codec_server")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m rag_claimcheck.codec_server",
        description=(
            "Codec server for the Temporal Web UI and CLI: /decode shows what claim-check references "
            f"point at, /encode applies the claim-check codec, /blob serves one blob. Auth: set {ENV_TOKEN} "
            "to require 'Authorization: Bearer <token>' (it is never read from the command line)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:" + (__doc__ or "").split("Examples:")[1],
    )
    net = parser.add_argument_group("network (defaults from CLAIM_CHECK_CODEC_* variables)")
    net.add_argument(
        "--host",
        default=os.environ.get(ENV_HOST, DEFAULT_HOST),
        help=f"address to bind (default {DEFAULT_HOST}; 0.0.0.0 inside a container; env {ENV_HOST})",
    )
    net.add_argument(
        "--port",
        type=int,
        default=os.environ.get(ENV_PORT, str(DEFAULT_PORT)),  # argparse applies type=int
        help=f"port (default {DEFAULT_PORT}; env {ENV_PORT})",
    )
    net.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help=f"Web UI origin allowed to call from a browser; repeatable (default http://localhost:8233; env {ENV_CORS_ORIGINS}, comma-separated)",
    )
    net.add_argument(
        "--allowed-host",
        action="append",
        metavar="HOST",
        help=f"Host header name to accept; repeatable, '*' for any (default: loopback names; env {ENV_ALLOWED_HOSTS})",
    )
    net.add_argument(
        "--public-url",
        help=f"codec endpoint URL as browsers see it, for blob links behind a proxy (env {ENV_PUBLIC_URL})",
    )
    net.add_argument(
        "--max-request-bytes",
        type=int,
        help=f"largest request body (default 16 MiB; env {ENV_MAX_REQUEST_BYTES})",
    )
    net.add_argument(
        "--max-decode-bytes",
        type=int,
        help=f"what one /decode request may read from the store plus return; beyond it, references become summaries with a link (default 64 MiB; env {ENV_MAX_DECODE_BYTES})",
    )
    view = parser.add_argument_group("decoding and encoding")
    view.add_argument(
        "--display-max-bytes",
        type=int,
        help=f"payloads with more data are shown as a summary with a link (default 262144; env {ENV_DISPLAY_MAX_BYTES})",
    )
    view.add_argument(
        "--namespace",
        help=f"namespace of requests without an X-Namespace header (default: default; env {ENV_NAMESPACE})",
    )
    view.add_argument(
        "--encode",
        choices=ENCODE_MODES,
        help=f"/encode applies the claim-check codec (default) or passes payloads through (env {ENV_ENCODE})",
    )
    store = parser.add_argument_group("blob store (defaults from CLAIM_CHECK_* variables, as for the worker)")
    store.add_argument("--store", choices=("file", "s3"), help="file (default; CLAIM_CHECK_FILE_ROOT) or s3")
    store.add_argument("--inline-max-bytes", type=int, help="/encode keeps payloads up to this size inline")
    store.add_argument(
        "--compression", choices=("none", "zstd", "gzip"), help="/encode compresses stored blobs"
    )
    args = parser.parse_args(argv)
    try:
        args.settings = ClaimCheckSettings.from_env(
            store=args.store, inline_max_bytes=args.inline_max_bytes, compression=args.compression
        )
        args.options = CodecServerOptions.from_env(
            cors_origins=tuple(args.cors_origin) if args.cors_origin else None,
            allowed_hosts=tuple(args.allowed_host) if args.allowed_host else None,
            public_url=args.public_url,
            max_request_bytes=args.max_request_bytes,
            max_decode_bytes=args.max_decode_bytes,
            display_max_bytes=args.display_max_bytes,
            default_namespace=args.namespace,
            encode=args.encode,
        )
    except ValueError as e:
        parser.error(str(e))
    if not 0 < args.port < 65536:
        parser.error(f"--port must be 1-65535; got {args.port}")
    return args


def _stop_gracefully(signum: int, frame: FrameType | None) -> None:
    raise GracefulExit


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    options: CodecServerOptions = args.options
    settings: ClaimCheckSettings = args.settings
    if not _is_loopback(args.host) and options.token is None:
        log.warning(
            "listening on %s without %s: anyone who can reach port %d can read blobs",
            args.host,
            ENV_TOKEN,
            args.port,
        )
    store = open_store(settings)
    app = create_app(store=store, settings=settings, options=options)

    async def close_store(_: web.Application) -> None:
        await store.close()

    app.on_cleanup.append(close_store)
    banner = (
        f"codec server on http://{args.host}:{args.port} (blobs in {store.name}; "
        f"auth {'bearer token' if options.token else 'off'}; CORS {', '.join(options.cors_origins) or 'none'})"
    )
    signal.signal(signal.SIGHUP, _stop_gracefully)  # run_app itself handles SIGINT and SIGTERM
    web.run_app(
        app, host=args.host, port=args.port, print=lambda _: print(banner, file=sys.stderr, flush=True)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
