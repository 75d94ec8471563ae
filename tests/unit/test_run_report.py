"""describe_error reports the error that says why, not its wrappers or what it was chained from."""

from __future__ import annotations

from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError, RetryState, TerminatedError

from rag_claimcheck.rag.starter import describe_error


def chained(outer: BaseException, inner: BaseException) -> BaseException:
    outer.__cause__ = inner
    return outer


def activity_error(cause: BaseException) -> ActivityError:
    error = ActivityError(
        "activity failed",
        scheduled_event_id=5,
        started_event_id=6,
        identity="w",
        activity_type="a",
        activity_id="1",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    return chained(error, cause)  # type: ignore[return-value] # chained returns its first argument


def test_an_application_error_inside_an_activity_error() -> None:
    app = ApplicationError("menu.txt is not valid UTF-8", type="DocumentNotUtf8", non_retryable=True)
    error = WorkflowFailureError(cause=activity_error(app))
    assert describe_error(error) == {"type": "DocumentNotUtf8", "message": "menu.txt is not valid UTF-8"}


def test_stops_at_the_claim_check_error_not_what_it_was_chained_from() -> None:
    missing = ApplicationError(
        "ClaimCheck decode failed [key=k]", type="ClaimCheckPayloadMissing", non_retryable=True
    )
    missing.__cause__ = ApplicationError("blob not found [key=k]", type="BlobNotFoundError")
    error = WorkflowFailureError(cause=missing)
    assert describe_error(error)["type"] == "ClaimCheckPayloadMissing"


def test_a_termination_by_the_server() -> None:
    error = WorkflowFailureError(cause=TerminatedError("Workflow history size exceeds limit.", ()))
    assert describe_error(error) == {
        "type": "TerminatedError",
        "message": "Workflow history size exceeds limit.",
    }
