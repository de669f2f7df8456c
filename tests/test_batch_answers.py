"""RetryingBatches: an item that breaks its batch is reported alone; Ctrl-C leaves just the rest pending."""

import pytest

from ser_zoo.batch_answers import RetryingBatches, failure


def doubler(calls: list, poison: int = 3, stop_after: int = 0):
    """Doubles ints; a batch holding ``poison`` fails; call number ``stop_after`` raises KeyboardInterrupt."""

    def classify(items):
        calls.append(list(items))
        if stop_after and len(calls) == stop_after:
            raise KeyboardInterrupt
        if poison in items:
            raise ValueError(f"cannot take {poison}")
        return [2 * x for x in items]

    return classify


def test_full_batches_are_answered_as_they_fill_and_flush_answers_the_rest():
    calls, errors = [], []
    batches = RetryingBatches(doubler(calls), 2, lambda item, e: errors.append(item))
    for x in (0, 1, 2):
        batches.add(x)
    assert calls == [[0, 1]] and batches.pending == [2]
    batches.flush()
    batches.flush()  # nothing pending: no call
    assert calls == [[0, 1], [2]] and batches.answers == [0, 2, 4] and errors == []


def test_a_failing_batch_is_retried_item_by_item_and_only_the_culprit_reported():
    calls, errors = [], []
    batches = RetryingBatches(doubler(calls), 4, lambda item, e: errors.append((item, failure(e))))
    for x in range(6):
        batches.add(x)
    batches.flush()
    assert batches.answers == [0, 2, 4, 8, 10] and batches.pending == []
    assert errors == [(3, "could not be classified (ValueError: cannot take 3)")]
    assert calls[1:5] == [[0], [1], [2], [3]]  # the retry, one item at a time


def test_ctrl_c_during_the_retry_keeps_the_answers_and_leaves_the_rest_pending():
    calls = []
    batches = RetryingBatches(doubler(calls, stop_after=3), 4, lambda item, e: None)
    with pytest.raises(KeyboardInterrupt):
        for x in range(4):
            batches.add(x)
    assert batches.answers == [0] and batches.pending == [1, 2, 3]  # item 1's call was interrupted


def test_batch_size_must_be_positive():
    with pytest.raises(ValueError, match="batch size 0"):
        RetryingBatches(lambda items: items, 0, lambda item, e: None)
