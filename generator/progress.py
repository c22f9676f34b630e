"""Progress of a long run (`build`, `check`): named stages with counts, timed.

The pipeline only calls `progress.stage(name, total)` and the `advance(n)` it yields; how that is shown is
the shell's choice. `StageTimer` records each stage's time for the one summary line a CI log gets
(`check: load 0.41 s · checks 0.12 s · total 0.53 s`); `TerminalProgress` also draws a bar (rich) on a
terminal, but only once the run has lasted two seconds, so quick runs stay quiet. A leaf module: it
imports nothing from statusgen.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

# A run shorter than this draws nothing: a bar that flashes for a second is noise.
SHOW_AFTER_SECONDS = 2.0


class StageTimer:
    """Times the stages of one run; draws nothing."""

    def __init__(self, command: str = "") -> None:
        self.command = command
        self.started = time.perf_counter()
        self.timings: list[tuple[str, float]] = []

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        start = time.perf_counter()
        self._begin(name, total)
        try:
            yield self._advance
        finally:
            self._end(name)
            self.timings.append((name, time.perf_counter() - start))

    def summary(self) -> str:
        """One line: each stage's time and the total, e.g. `build: load 0.41 s · site 3.02 s · total 3.50 s`."""
        parts = [f"{name} {seconds:.2f} s" for name, seconds in self.timings]
        parts.append(f"total {time.perf_counter() - self.started:.2f} s")
        return (f"{self.command}: " if self.command else "") + " · ".join(parts)

    def close(self) -> None:
        """Stop drawing (nothing to do here)."""

    # hooks for a display
    def _begin(self, name: str, total: int | None) -> None:
        pass

    def _advance(self, count: int = 1) -> None:
        pass

    def _end(self, name: str) -> None:
        pass


class TerminalProgress(StageTimer):
    """A progress bar on stderr (stage, count, elapsed), shown from two seconds into the run, then removed."""

    def __init__(self, command: str = "", console=None) -> None:
        super().__init__(command)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn(f"{command} {{task.description}}".strip()), BarColumn(),
                             MofNCompleteColumn(), TimeElapsedColumn(),
                             console=console or Console(stderr=True), transient=True,
                             # no stdout/stderr proxies: the build forks workers that must not inherit them
                             redirect_stdout=False, redirect_stderr=False)
        self._task = None
        self._lock = threading.Lock()
        self._shown = False
        # A stage may run for seconds without advancing (the site engine): a timer shows the bar anyway.
        self._timer = threading.Timer(SHOW_AFTER_SECONDS, self._show)
        self._timer.daemon = True
        self._timer.start()

    def _show(self) -> None:
        with self._lock:
            if not self._shown and self._timer is not None:
                self._shown = True
                self._bar.start()

    def _begin(self, name: str, total: int | None) -> None:
        with self._lock:
            if self._task is not None:
                self._bar.remove_task(self._task)
            self._task = self._bar.add_task(name, total=total)

    def _advance(self, count: int = 1) -> None:
        task = self._task
        if task is not None:
            self._bar.advance(task, count)

    def _end(self, name: str) -> None:
        with self._lock:
            if self._task is not None:
                task = self._bar.tasks[-1]
                if task.total is not None:
                    self._bar.update(self._task, completed=task.total)

    def close(self) -> None:
        with self._lock:
            timer, self._timer = self._timer, None
            if timer is not None:
                timer.cancel()
            if self._shown:
                self._bar.stop()


def progress_for(command: str, stream) -> StageTimer:
    """A bar on a terminal (not in CI, which sets CI=true), the timer alone elsewhere."""
    import os

    if stream.isatty() and os.environ.get("CI", "").lower() not in ("true", "1"):
        return TerminalProgress(command)
    return StageTimer(command)
