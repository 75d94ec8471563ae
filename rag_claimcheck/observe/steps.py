"""How long each step of a workflow took, from the event times in its history."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.api.history.v1 import HistoryEvent


def step_seconds(events: Sequence[HistoryEvent]) -> dict[str, float]:
    """Seconds per step, from the server's event times.

    ``workflow_tasks`` sums every workflow task (started to completed) and
    ``longest_workflow_task`` is the longest; ``workflow_tasks_timed_out`` and
    ``workflow_tasks_failed`` count the retried ones; each activity type gets the run time of
    its completed attempt; ``first_to_last_event`` is the whole run as the server saw it.
    """
    at = {e.event_id: e.event_time.ToDatetime() for e in events}
    steps: dict[str, float] = {"workflow_tasks_timed_out": 0, "workflow_tasks_failed": 0}
    names: dict[int, str] = {}
    for e in events:
        if e.HasField("activity_task_scheduled_event_attributes"):
            names[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
        elif e.HasField("activity_task_completed_event_attributes"):
            done = e.activity_task_completed_event_attributes
            steps[names[done.scheduled_event_id]] = round(
                (at[e.event_id] - at[done.started_event_id]).total_seconds(), 3
            )
        elif e.HasField("workflow_task_completed_event_attributes"):
            task = e.workflow_task_completed_event_attributes
            took = (at[e.event_id] - at[task.started_event_id]).total_seconds()
            steps["workflow_tasks"] = round(steps.get("workflow_tasks", 0.0) + took, 3)
            steps["longest_workflow_task"] = max(steps.get("longest_workflow_task", 0.0), round(took, 3))
        elif e.HasField("workflow_task_timed_out_event_attributes"):
            steps["workflow_tasks_timed_out"] += 1
        elif e.HasField("workflow_task_failed_event_attributes"):
            steps["workflow_tasks_failed"] += 1
    if events:
        steps["first_to_last_event"] = round(
            (at[events[-1].event_id] - at[events[0].event_id]).total_seconds(), 3
        )
    return steps
