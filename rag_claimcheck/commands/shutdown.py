"""Run a command's coroutine so that SIGINT, SIGTERM and SIGHUP all stop it the same, orderly way.

``docker stop``, systemd and ``kill`` send SIGTERM and a closed terminal sends SIGHUP; without a
handler either one kills Python at once, skipping every ``finally`` that stops the servers the
command started. Here the first signal cancels the command's task, so its ``finally`` blocks
stop workers and servers; a second signal exits at once (the servers still stop: they run under
:mod:`rag_claimcheck.servers.guard`, which follows its parent's death).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, TypeVar

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(Exception):
    """The command was stopped by a signal; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal number."""
        return 128 + self.signum


def run_command(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``; a stop signal cancels it and raises :class:`Interrupted`."""

    async def runner() -> T:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        received: list[int] = []

        def on_signal(signum: int) -> None:
            if received:  # a second signal: the user means it
                print(f"{signal.Signals(signum).name} again: exiting now", file=sys.stderr, flush=True)
                os._exit(128 + signum)
            received.append(signum)
            print(
                f"{signal.Signals(signum).name}: stopping (send it again to exit at once) ...",
                file=sys.stderr,
                flush=True,
            )
            task.cancel()

        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, on_signal, sig)
        try:
            return await main
        except asyncio.CancelledError:
            if received:
                raise Interrupted(received[0]) from None
            raise
        finally:
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)

    return asyncio.run(runner())


def exit_without_finalizing(main: Callable[[], int]) -> NoReturn:
    """Run a command's ``main()``, flush its output, and exit without interpreter finalization.

    The Temporal client's Rust threads can outlive the event loop; when CPython finalizes
    while one of them still holds a thread state, a short-lived client process sometimes dies
    with ``Fatal Python error: PyGILState_Release`` (SIGABRT) after its work is done
    (temporalio/sdk-python#300; about one run in three of a bare connect-and-exit here). Every
    resource the commands open is closed in their own ``finally`` blocks before this point.
    """
    try:
        code = main()
    except SystemExit as e:  # argparse and parser.fail exit this way
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
