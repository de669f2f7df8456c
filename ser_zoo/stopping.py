"""SIGTERM stops ser-zoo the way Ctrl-C does, and the exit status says it stopped.

A scheduler, ``timeout`` or ``kill`` stops a job with SIGTERM, often sent to its whole process group. Left to
Lightning, a training run ended with exit status 0 as if it had finished, and ``bench`` took the error of its
dying DataLoader workers for one failed run and started the next fold. Raised as KeyboardInterrupt, SIGTERM
takes the paths Ctrl-C already takes: a training run stops with its last.ckpt in place, ``bench`` stops its
queue with every finished row written, ``infer`` keeps the answers it has.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

_received: list[int] = []  # the stopping signals seen since ``sigterm_as_ctrl_c`` was entered


def _interrupt(signum: int, frame) -> None:
    _received.append(signum)
    raise KeyboardInterrupt(signal.Signals(signum).name)


def stop_requested() -> bool:
    """True once SIGTERM arrived: an error raised after it (a worker killed by the same signal) is the stop,
    not a failure of the run in flight."""
    return bool(_received)


def exit_status() -> int:
    """The shell's convention, 128 + the signal: 143 after SIGTERM, 130 after Ctrl-C."""
    return 128 + (_received[0] if _received else signal.SIGINT)


def stop_cause() -> str:
    """What stopped the run, as a user would name it."""
    return "SIGTERM" if _received else "Ctrl-C"


@contextlib.contextmanager
def sigterm_as_ctrl_c() -> Iterator[None]:
    """While inside, SIGTERM raises KeyboardInterrupt. Lightning keeps this handler and calls it after its
    own notifier, so a training run stops at once, as on Ctrl-C, instead of after the batch."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    _received.clear()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _received.clear()  # a later run in this process (a test, a notebook) starts unstopped
