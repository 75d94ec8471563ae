"""A pytest plugin that ends the run with a time summary per suite (unit, integration, faults, browser, notebooks).

Loaded with ``-p tests.suite_times`` (``make test`` does). Under pytest-xdist the reports reach
the controller, so the summary covers every worker: *busy* adds up the tests' own durations
(setup, call and teardown), *span* is first start to last finish of the suite's tests, which is
what a suite costs in wall time when suites run side by side.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

SUITES = ("tests/unit", "tests/integration", "tests/faults", "tests/browser", "notebooks")


@dataclass
class _Suite:
    tests: set[str] = field(default_factory=set)
    busy: float = 0.0
    first: float = float("inf")
    last: float = 0.0
    failed: set[str] = field(default_factory=set)


def suite_of(nodeid: str) -> str:
    """The suite a test id belongs to: the longest of :data:`SUITES` that prefixes it, else its top folder."""
    path = nodeid.split("::", 1)[0]
    for suite in SUITES:
        if path == suite or path.startswith(suite + "/"):
            return suite
    return path.split("/", 1)[0]


class SuiteTimes:
    """Collects every test report and prints one line per suite at the end."""

    def __init__(self) -> None:
        self.suites: dict[str, _Suite] = {}
        self.started = time.time()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        suite = self.suites.setdefault(suite_of(report.nodeid), _Suite())
        suite.tests.add(report.nodeid)
        suite.busy += report.duration
        suite.first = min(suite.first, report.start)
        suite.last = max(suite.last, report.stop)
        if report.failed:
            suite.failed.add(report.nodeid)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.suites:
            return
        terminalreporter.section("time per suite")
        terminalreporter.write_line(f"{'suite':<20}{'tests':>7}{'failed':>8}{'busy':>10}{'span':>10}")
        for name in sorted(self.suites, key=lambda n: -self.suites[n].busy):
            s = self.suites[name]
            terminalreporter.write_line(
                f"{name:<20}{len(s.tests):>7}{len(s.failed):>8}{s.busy:>9.0f}s{s.last - s.first:>9.0f}s"
            )
        terminalreporter.write_line(f"{'whole run':<35}{time.time() - self.started:>20.0f}s")


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist) reports
        config.pluginmanager.register(SuiteTimes(), "suite-times")
