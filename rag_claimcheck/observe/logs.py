"""Keep the SDK core's log lines on stderr (Python logging), never on stdout.

The Rust core writes its own warnings (e.g. ``[TMPRL1103]`` for a payload over the warning size)
straight to stdout, which would corrupt ``start_workflow.py --json`` and land in notebook cells.
Forwarding them into Python logging puts them where the rest of the kit's logs go.
"""

from __future__ import annotations

import logging
import sys

from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

CORE_LOGGER = "temporalio.core"


def core_logging(level: str = "WARN") -> LoggingConfig:
    """Telemetry logging that forwards core logs to the ``temporalio.core`` logger."""
    return LoggingConfig(
        filter=TelemetryFilter(core_level=level, other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger(CORE_LOGGER)),
    )


def forward_core_logs(level: str = "WARN") -> None:
    """Make the default Temporal runtime forward core logs to the ``temporalio.core`` logger.

    Call it before the first client is created; later clients use the new runtime.
    """
    runtime = Runtime(telemetry=TelemetryConfig(logging=core_logging(level)))
    Runtime.set_default(runtime, error_if_already_set=False)


def configure_command_logging() -> None:
    """Logging for the kit's commands: warnings and up on stderr, core logs included.

    A store outage is one line per retry (:class:`OneLinePerStoreOutage`), not a traceback.
    """
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(OneLinePerStoreOutage())
    forward_core_logs()


STORE_UNAVAILABLE = "ClaimCheckStoreUnavailable"


def _store_outage(error: BaseException | None) -> BaseException | None:
    """The ``ClaimCheckStoreUnavailable`` in ``error``'s cause chain, if there is one."""
    seen = 0
    while error is not None and seen < 20:
        if getattr(error, "type", None) == STORE_UNAVAILABLE:
            return error
        error, seen = error.__cause__ or error.__context__, seen + 1
    return None


class OneLinePerStoreOutage(logging.Filter):
    """Log a store outage as one line per retry, not a traceback per attempt.

    Temporal retries activities and workflow tasks that fail with ``ClaimCheckStoreUnavailable``;
    each retry is worth a line (which attempt, which store), not 40 lines of botocore frames.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        outage = _store_outage(record.exc_info[1]) if record.exc_info else None
        if outage is not None:
            record.msg = (
                f"{record.getMessage()}: {STORE_UNAVAILABLE}: {getattr(outage, 'message', outage)} (retried)"
            )
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True
