"""Ctrl-C during a run: stop after the batch in flight, keeping it.

A compiled batch cannot be interrupted halfway, and raising
`KeyboardInterrupt` once it returns would throw its outputs away. So while
a run is in progress (main thread only) the first SIGINT only sets a flag
that executors check between batches, and says so on stderr at once; the
old handler is back in place, so a second Ctrl-C interrupts as it always
did.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading

__all__ = ["StopRequest"]

MESSAGE = (
    "sweepjax: Ctrl-C: the sweep stops once the batch in flight is written "
    "(Ctrl-C again stops at once, losing that batch)."
)


class StopRequest:
    """A context manager: inside it, the first Ctrl-C sets `requested`.

    The message goes out at once even while the main thread waits in a
    compiled call (where Python signal handlers cannot run): the C-level
    handler writes to a wakeup socket that a small thread watches.

    With ``enabled=False`` it changes nothing (an executor that cannot stop
    between batches keeps the plain `KeyboardInterrupt`).

    >>> with StopRequest() as stop:
    ...     stop()
    False
    """

    def __init__(self, enabled: bool = True) -> None:
        self.requested = False
        self._enabled = enabled
        self._installed = False
        self._told = threading.Event()
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        """Whether a stop was asked for (executors call this between batches)."""
        return self.requested

    def __enter__(self) -> StopRequest:
        if (
            not self._enabled
            or threading.current_thread() is not threading.main_thread()
        ):
            return self
        old = signal.getsignal(signal.SIGINT)
        if not callable(old):  # SIG_IGN / SIG_DFL / set outside Python: leave it
            return self
        self._old_handler = old
        signal.signal(signal.SIGINT, self._on_signal)
        self._installed = True
        self._watch()
        return self

    def __exit__(self, *exc) -> None:
        if not self._installed:
            return
        self._installed = False
        if signal.getsignal(signal.SIGINT) == self._on_signal:
            signal.signal(signal.SIGINT, self._old_handler)
        if self._watcher is not None:
            signal.set_wakeup_fd(self._old_fd)
            self._writer.close()  # the watcher reads EOF and ends
            self._watcher.join(timeout=1.0)
            self._reader.close()

    def _on_signal(self, signum, frame) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self._old_handler)
        self._tell()

    def _tell(self) -> None:
        with self._lock:
            if self._told.is_set():
                return
            self._told.set()
        print(f"\n{MESSAGE}", file=sys.stderr, flush=True)

    def _watch(self) -> None:
        """Start the thread that reports a Ctrl-C as soon as it arrives."""
        self._watcher = None
        try:
            self._reader, self._writer = socket.socketpair()
            self._writer.setblocking(False)
            self._old_fd = signal.set_wakeup_fd(
                self._writer.fileno(), warn_on_full_buffer=False
            )
        except (OSError, ValueError):  # no wakeup fd here: the handler tells
            return
        self._watcher = threading.Thread(
            target=self._read, name="sweepjax-ctrl-c", daemon=True
        )
        self._watcher.start()

    def _read(self) -> None:
        while True:
            try:
                data = self._reader.recv(64)
            except OSError:
                return
            if not data:
                return
            if signal.SIGINT in data:
                self._tell()
