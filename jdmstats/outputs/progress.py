"""What ``jdmstats run`` prints: a line per step with a bar on a terminal, plain log lines
elsewhere, and a status line for steps running in parallel.

A step receives a ``progress(done, total, label)`` callback and passes it down to a question
function that runs a long loop (the Turnbull bootstrap); when nothing is shown every call is a
no-op.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

__all__ = ["Progress", "Board", "bar"]


def bar(done: int, total: int, width: int) -> str:
    """``[####----] done/total`` for a progress line."""
    fill = int(round(min(max(done / total, 0.0), 1.0) * width))
    return f"[{'#' * fill}{'-' * (width - fill)}] {done}/{total}"


class Progress:
    """Progress of one step: a live line with a bar on a terminal (``live``), else one log line
    when the step ends.

    Call it as ``progress(done, total, label)``. When ``stream`` is ``None`` every call is a
    no-op, so steps can report progress unconditionally.
    """

    def __init__(self, name: str, stream: TextIO | None = None, width: int = 24,
                 live: bool = True):  # fmt: skip
        self.name = name
        self.stream = stream
        self.width = width
        self.live = live
        self._last = -1.0
        self._drawn = False

    @property
    def enabled(self) -> bool:
        return self.stream is not None

    def __call__(self, done: int, total: int, label: str = "") -> None:
        if self.stream is None or not self.live or total <= 0:
            return
        now = time.perf_counter()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        self.stream.write(f"\r  {self.name:<12} {bar(done, total, self.width)} {label}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def start(self) -> None:
        if self.stream is not None and self.live:
            self.stream.write(f"  {self.name:<12} ...")
            self.stream.flush()

    def finish(self, text: str) -> None:
        if self.stream is None:
            return
        if self.live:
            self.stream.write(f"\r  {self.name:<12} {text}\x1b[K\n")
        else:
            self.stream.write(f"  {self.name:<12} {text}\n")
            self.stream.flush()


class Board:
    """The display of steps running in parallel: a finished line per step and, on a terminal,
    one status line (running steps, with a bar for any that reports progress). With ``lines``
    (not a terminal) only the finished lines are written."""

    def __init__(self, stream: TextIO | None, lines: bool = False):
        self.stream = stream
        self.lines = lines
        self.running: dict[str, str] = {}
        self.lock = threading.Lock()

    def _status(self) -> None:
        if self.lines:
            return
        text = "  running: " + ", ".join(f"{n}{v}" for n, v in self.running.items())
        self.stream.write(f"\r{text[:110]}\x1b[K")
        self.stream.flush()

    def started(self, names: list[str]) -> None:
        if self.stream is None:
            return
        with self.lock:
            self.running.update({n: "" for n in names})
            self._status()

    def progress(self, name: str, done: int, total: int, label: str) -> None:
        if self.stream is None or name not in self.running or total <= 0:
            return
        with self.lock:
            self.running[name] = f" {bar(done, total, 12)} {label}"
            self._status()

    def finished(self, name: str, summary: str, notes: list[tuple[str, str, str]]) -> None:
        if self.stream is None:
            return
        with self.lock:
            self.running.pop(name, None)
            if self.lines:
                self.stream.write(f"  {name:<12} {summary}\n")
            else:
                self.stream.write(f"\r  {name:<12} {summary}\x1b[K\n")
            for _, category, message in notes:
                self.stream.write(f"      {category}: {message}\n")
            if self.running:
                self._status()
            self.stream.flush()
