"""Batched answers that one odd item cannot take down: the shared core of ``infer``'s batch jobs.

A batch job answers many items (files, speech segments, timeline windows) a batch at a time. When a batch
fails, the cause is usually one item (a shape the network cannot take, a decoder quirk), so the batch is
retried item by item: only an item that fails alone is reported, the others are answered. Items leave
``pending`` once answered or reported, so after Ctrl-C ``pending`` is exactly what was not done.
"""

from __future__ import annotations

from typing import Callable, Generic, Sequence, TypeVar

from .stopping import stop_cause


def stopped() -> str:
    """Why the files (or the rest of a timeline) that Ctrl-C or SIGTERM left unclassified have no rows."""
    return f"the run was interrupted ({stop_cause()})"


def not_classified() -> str:
    return f"not classified: {stopped()}"


Item = TypeVar("Item")
Answer = TypeVar("Answer")


class RetryingBatches(Generic[Item, Answer]):
    """Collects items and answers them ``size`` at a time with ``classify`` (one answer per item, in order).

    Args:
        classify: answers a list of items; raising means some item in it could not be answered.
        size: items per batch.
        on_error: called with ``(item, exception)`` for an item that fails on its own; it is then dropped.
    """

    def __init__(
        self,
        classify: Callable[[Sequence[Item]], Sequence[Answer]],
        size: int,
        on_error: Callable[[Item, Exception], None],
    ):
        if size < 1:
            raise ValueError(f"batch size {size}: use 1 or more")
        self.classify, self.size, self.on_error = classify, size, on_error
        self.pending: list[Item] = []
        self.answers: list[Answer] = []

    def add(self, item: Item) -> None:
        """Queue ``item``; a full batch is answered at once."""
        self.pending.append(item)
        if len(self.pending) >= self.size:
            self.flush()

    def flush(self) -> None:
        """Answer what is pending: as one batch, or item by item when the batch fails."""
        if not self.pending:
            return
        try:
            answers = list(self.classify(self.pending))
        except Exception:  # find the item at fault; the others are answered
            while self.pending:
                try:
                    self.answers.extend(self.classify(self.pending[:1]))
                except Exception as e:
                    self.on_error(self.pending[0], e)
                self.pending.pop(0)
            return
        self.answers.extend(answers)
        self.pending.clear()


def failure(e: Exception) -> str:
    """How a job reports an item that could not be answered."""
    return f"could not be classified ({type(e).__name__}: {e})"
