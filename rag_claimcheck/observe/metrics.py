"""Prometheus metrics: the Temporal SDK runtime's own plus the kit's claim-check counters.

``worker.py --metrics-port PORT`` calls :func:`serve_prometheus`: the process's default Temporal
``Runtime`` then serves ``/metrics`` on that port, and the kit's instruments are installed on the
same meter. Every :class:`~rag_claimcheck.claimcheck.vault.PayloadVault` (codec, SDK driver,
explicit references) then records, labelled by ``store`` (``s3``, ``file``, ``memory``) and
``mode`` (``codec``, ``extstore``, ``refs``):

* ``claim_check_store_puts`` / ``_gets`` / ``_dedup_hits`` / ``_errors`` (counts);
* ``claim_check_stored_bytes`` / ``_fetched_bytes`` (bytes moved);
* ``claim_check_history_bytes_kept_out`` (payload bytes replaced by a reference);
* ``claim_check_store_latency`` (histogram, milliseconds, label ``op``: ``put`` or ``get``).

Without :func:`install` nothing is recorded and nothing is imported beyond this module.
"""

from __future__ import annotations

import re
import urllib.request
from dataclasses import dataclass

from temporalio.common import MetricCounter, MetricHistogramFloat, MetricMeter
from temporalio.runtime import LoggingConfig, PrometheusConfig, Runtime, TelemetryConfig

METRIC_PREFIX = "claim_check_"


_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})? (?P<value>\S+)$")


def scrape(port: int, host: str = "127.0.0.1", *, timeout: float = 10.0) -> dict[str, float]:
    """Read a Prometheus endpoint (``http://HOST:PORT/metrics``): each metric summed over its label sets."""
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=timeout) as response:
        text = response.read().decode()
    totals: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and not line.startswith("#"):
            totals[match["name"]] = totals.get(match["name"], 0.0) + float(match["value"])
    return totals


class MetricsUnavailable(RuntimeError):
    """The metrics endpoint cannot be served (e.g. its port is taken)."""


@dataclass(frozen=True)
class KitMetrics:
    """The kit's instruments on one Temporal metric meter."""

    puts: MetricCounter
    gets: MetricCounter
    dedup_hits: MetricCounter
    errors: MetricCounter
    stored_bytes: MetricCounter
    fetched_bytes: MetricCounter
    kept_out_bytes: MetricCounter
    latency_ms: MetricHistogramFloat

    @classmethod
    def on(cls, meter: MetricMeter) -> KitMetrics:
        """Create the instruments on ``meter``."""
        p = METRIC_PREFIX
        return cls(
            puts=meter.create_counter(f"{p}store_puts", "Blobs uploaded to the store"),
            gets=meter.create_counter(f"{p}store_gets", "Blobs fetched from the store"),
            dedup_hits=meter.create_counter(
                f"{p}dedup_hits", "Uploads skipped because the same bytes were already stored"
            ),
            errors=meter.create_counter(f"{p}errors", "Store calls that failed, by error type"),
            stored_bytes=meter.create_counter(f"{p}stored_bytes", "Bytes uploaded to the store", "By"),
            fetched_bytes=meter.create_counter(f"{p}fetched_bytes", "Bytes fetched from the store", "By"),
            kept_out_bytes=meter.create_counter(
                f"{p}history_bytes_kept_out", "Payload bytes replaced in history by a reference", "By"
            ),
            latency_ms=meter.create_histogram_float(
                f"{p}store_latency", "Duration of one store put or get", "ms"
            ),
        )


_installed: KitMetrics | None = None


def install(meter: MetricMeter) -> KitMetrics:
    """Record the kit's metrics on ``meter`` from now on (process-wide)."""
    global _installed
    _installed = KitMetrics.on(meter)
    return _installed


def uninstall() -> None:
    """Stop recording the kit's metrics."""
    global _installed
    _installed = None


def current() -> KitMetrics | None:
    """The installed instruments, or None when metrics are off."""
    return _installed


def serve_prometheus(host: str, port: int) -> Runtime:
    """Serve ``/metrics`` on ``host:port`` for every client created from now on in this process.

    Replaces the Temporal default runtime (call it before any ``Client.connect``) with one that
    also forwards core logs like :func:`~rag_claimcheck.observe.logs.forward_core_logs`, and installs the
    kit's instruments on it.

    Raises:
        ValueError: ``port`` is not 1-65535.
        MetricsUnavailable: the address cannot be bound (e.g. the port is taken).
    """
    if not 1 <= port <= 65535:
        raise ValueError(f"the metrics port must be 1-65535; got {port}")
    from rag_claimcheck.observe.logs import core_logging

    try:
        runtime = prometheus_runtime(f"{host}:{port}", logging=core_logging())
    except Exception as e:  # the core reports a bind failure as a plain ValueError/RuntimeError
        raise MetricsUnavailable(f"cannot serve metrics on {host}:{port}: {e}") from e
    Runtime.set_default(runtime, error_if_already_set=False)
    return runtime


def prometheus_runtime(bind_address: str, *, logging: LoggingConfig | None = None) -> Runtime:
    """A Temporal runtime serving Prometheus metrics on ``bind_address`` (``host:port``).

    The kit's instruments are installed on its meter, so ``/metrics`` shows the SDK's metrics
    (``temporal_…``) and the kit's (``claim_check_…``) together. Pass it to
    ``Client.connect(..., runtime=...)``.
    """
    metrics = PrometheusConfig(bind_address=bind_address)
    telemetry = (
        TelemetryConfig(metrics=metrics)
        if logging is None
        else TelemetryConfig(logging=logging, metrics=metrics)
    )
    runtime = Runtime(telemetry=telemetry)
    install(runtime.metric_meter)
    return runtime
