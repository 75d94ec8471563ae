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


def forward_core_logs(level: str = "WARN") -> None:
    """Make the default Temporal runtime forward core logs to the ``temporalio.core`` logger.

    Call it before the first client is created; later clients use the new runtime.
    """
    runtime = Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level=level, other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger(CORE_LOGGER)),
            )
        )
    )
    Runtime.set_default(runtime, error_if_already_set=False)


def configure_command_logging() -> None:
    """Logging for the kit's commands: warnings and up on stderr, core logs included."""
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    forward_core_logs()
