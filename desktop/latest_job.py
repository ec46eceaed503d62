"""One worker thread that keeps only the newest request: how the suggestions and Teach mode work off the UI
thread without ever queueing work that a later change has made useless."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _Relay(QObject):
    """Lives on the UI thread, so a worker's emit is delivered there as a queued call."""

    done = Signal(object, object)  # request, result


class _Run(QRunnable):
    def __init__(self, work: Callable, request, relay: _Relay):
        super().__init__()
        self.work, self.request, self.relay = work, request, relay

    def run(self):
        try:
            result = self.work(self.request)
        except Exception:  # a worker must never take the app down; the next request tries again
            traceback.print_exc(file=sys.stderr)
            result = None
        self.relay.done.emit(self.request, result)


class LatestJob(QObject):
    """Runs ``work(request)`` on one worker thread, one request at a time.

    A request made while one runs waits in :attr:`waiting`, in place of any older one that waited: only
    the newest matters. When a run ends, ``done`` (request, result) is emitted on the thread this object
    lives on (the UI thread); ``result`` is None when ``work`` raised (the traceback is printed). What
    happens to the waiting request then is the owner's call (:meth:`start` it, run it elsewhere or drop
    it), so that it can decide with the result in hand.
    """

    done = Signal(object, object)  # request, result

    def __init__(self, work: Callable, parent=None):
        super().__init__(parent)
        self.work = work
        self.busy = False
        self.waiting = None  # the newest request made while busy
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _Relay(self)
        self._relay.done.connect(self._finished)

    def submit(self, request) -> None:
        """Run ``request`` now when the worker is free; else it waits, replacing any older waiting one."""
        if self.busy:
            self.waiting = request
        else:
            self.start(request)

    def start(self, request) -> None:
        """Run ``request`` on the worker (which must be free)."""
        self.busy = True
        self._pool.start(_Run(self.work, request, self._relay))

    def take_waiting(self):
        """The waiting request (None when none), which no longer waits."""
        request, self.waiting = self.waiting, None
        return request

    def wait_done(self, timeout_ms: int) -> bool:
        """Block until the worker is idle (its result is still delivered by the event loop)."""
        return self._pool.waitForDone(timeout_ms)

    def _finished(self, request, result) -> None:
        self.busy = False
        self.done.emit(request, result)
