"""Worker processes that never outlive the run that started them.

Batch tagging and training's cross-validation use :func:`worker_pool`: a
``ProcessPoolExecutor`` whose workers are started with ``spawn`` (the parent may hold threads,
which ``fork`` does not copy safely), ignore Ctrl-C (the parent handles it) and, on Linux, ask
the kernel to send them SIGTERM when the parent dies (``prctl(PR_SET_PDEATHSIG)``), so that a
``kill -9`` of the parent takes its workers with it, and with them the multiprocessing
resource tracker, which exits when the last of them has gone. :func:`stop_workers` ends them at
once when a run is interrupted, instead of letting each finish its task.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: The signals that end a run, cleaning up as Ctrl-C does: Ctrl-C, ``kill`` and a terminal
#: closed under the run (SIGHUP, POSIX only).
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)

#: Those a terminal sends to every process of its group (Ctrl-C; SIGHUP when it closes): the
#: parent handles them, so workers, and the resource tracker started with them, ignore them.
_GROUP_SIGNALS = tuple(s for s in STOP_SIGNALS if s != getattr(signal, "SIGTERM", None))

#: prctl option: the signal a process gets when its parent dies (linux/prctl.h).
_PR_SET_PDEATHSIG = 1


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def die_with_parent(parent: int) -> None:
    """Have this process get SIGTERM when its parent ``parent`` dies (Linux; elsewhere only the
    check below). Exits at once if the parent is already gone."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl (another C library): best effort
            pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


class ForkSafeLock:
    """A ``threading.Lock`` that a forked child makes anew: the child's copy may be held by a
    thread the child does not have, and would be waited on for ever. ``after_fork`` runs in
    the child then, for state the lock guarded that the fork may have copied half-written."""

    def __init__(self, after_fork: Callable[[], None] | None = None) -> None:
        self._pid, self._lock, self._after_fork = os.getpid(), threading.Lock(), after_fork

    def __enter__(self) -> bool:
        if self._pid != os.getpid():
            self._pid, self._lock = os.getpid(), threading.Lock()
            if self._after_fork is not None:
                self._after_fork()
        return self._lock.__enter__()

    def __exit__(self, *exc) -> None:
        self._lock.__exit__(*exc)


def _start_worker(parent: int, initializer: Callable | None, initargs: tuple) -> None:
    import warnings

    from topictag.errors import show_warning

    die_with_parent(parent)
    warnings.showwarning = show_warning  # one line, as the parent shows its own
    for signum in _GROUP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)  # also drops one held back since start
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, set(_GROUP_SIGNALS))
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if initializer is not None:
        initializer(*initargs)


def worker_pool(n: int, initializer: Callable | None = None, initargs: tuple = ()):
    """A ``ProcessPoolExecutor`` of ``n`` spawned workers that die with this process.

    Its tasks and initializer must be functions of the package. The workers do not run the
    ``__main__`` script again (as joblib's workers do not), so a script that calls ``train`` or
    ``tag_corpus`` needs no ``if __name__ == "__main__":`` guard. Submit tasks from the thread
    that created the pool: the parent-death signal follows the thread that started a worker.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    class Pool(ProcessPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):
            # A worker is started by submit, when one is needed. Ctrl-C or SIGTERM waits until
            # it has been handed its start-up data: cut off before, it would print a traceback.
            with _main_hidden(), signals_deferred(), _interrupt_blocked():
                return super().submit(fn, *args, **kwargs)

    with _interrupt_blocked():  # its queues' locks start the resource tracker
        return Pool(
            n,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(), initializer, initargs),
        )


@contextmanager
def _interrupt_blocked() -> Iterator[None]:
    """SIGINT and SIGHUP blocked in this thread while the body runs: a worker started
    meanwhile inherits the block, so the Ctrl-C (or hang-up) a terminal sends its whole
    process group waits in the worker until it ignores it, instead of stopping its start-up
    imports with a traceback. The resource tracker the first worker starts keeps SIGHUP
    blocked (it unblocks only the signals it ignores), so a closed terminal does not kill it
    and make the parent start another, with a warning. (The parent still gets the signal,
    through its other threads or when this block ends.)"""
    if not hasattr(signal, "pthread_sigmask"):  # not POSIX
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, set(_GROUP_SIGNALS))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def _main_hidden() -> Iterator[None]:
    """A bare ``__main__`` while workers start: ``spawn`` would run the real one in each."""
    import types

    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def stop_workers(executor) -> None:
    """Shut ``executor`` down now: queued tasks are dropped and running workers terminated
    (their results would be thrown away), so an interrupted run exits at once."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    manager = getattr(executor, "_executor_manager_thread", None)  # shutdown forgets it
    writer = getattr(getattr(executor, "_result_queue", None), "_writer", None)  # this too
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        try:
            process.terminate()
        except (OSError, ValueError, AttributeError):  # already gone
            pass
    # A worker killed halfway through sending its result leaves the manager thread waiting
    # for the rest of the message for ever: this process holds the pipe's other end too, so
    # it never reads end-of-file. Closing that end gives it one once the workers are gone;
    # it then takes the pool as broken and winds it up.
    if writer is not None:
        with contextlib.suppress(OSError):
            writer.close()
    # Let the pool's manager thread see its workers gone and close its pipes before the
    # interpreter exits: left running, it can race the exit hook of concurrent.futures, which
    # then writes to a pipe just closed and prints a traceback (Python 3.11).
    if manager is not None:
        manager.join(timeout=10)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold back :data:`STOP_SIGNALS` while the body runs (one that arrives meanwhile is
    delivered right after), so that a step that must not be cut in two is not.

    Held back where Python handles them: the main thread runs every Python signal handler,
    whichever thread the kernel chose, so a signal mask on this thread alone would not do.
    Outside the main thread (which cannot install handlers) the body runs as it is.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {
        s: signal.signal(s, lambda signum, frame: held.append(signum)) for s in STOP_SIGNALS
    }
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in dict.fromkeys(held):
            signal.raise_signal(s)  # to the handler that was there before
