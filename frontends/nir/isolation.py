"""Read a ``.nir`` file's HDF5 tree in a child process that must answer before a deadline.

Why a child process: on some corrupted files the HDF5 library loops forever
inside one C call (``dataset[()]``), and a C loop cannot be interrupted from
Python; only killing the process that runs it ends it. A crash of the C library
(a segmentation fault) likewise ends only the child.

Why one reused child: starting a Python that imports numpy and h5py costs
0.2-0.5 s, far more than reading a model (about 15 ms for the digits example).
The child answers one path after another and is replaced only when it misses
a deadline (then it is killed) or dies. It isolates hangs and crashes; it is
not a security sandbox (it runs as the same user).

Why ``subprocess`` and not ``multiprocessing``: its contexts that avoid
``fork`` ('spawn', 'forkserver') fix the parent's default start method when
they start a process (``spawn.get_preparation_data`` calls
``get_start_method()``), which breaks a later ``set_start_method('fork')``
(Lava's import), and they re-import the user's ``__main__`` script in the
child, so ``neurocc.load`` at the top of a script without an
``if __name__ == "__main__"`` guard would fail. A plain child interpreter
running :mod:`.hdf5_tree` by path has neither problem, and imports numpy and
h5py only, not neurocc. ``fork`` itself is unsafe in a process with threads.
Waiting uses ``poll`` on a pipe: POSIX only, like the rest of neurocc.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, cast

from neurocc.compiler.errors import FrontendError
from neurocc.frontends.nir import hdf5_tree

READ_TIMEOUT_S = 20.0  # a good model of a few MB reads in well under 1 s
TIMEOUT_ENV = "NEUROCC_NIR_READ_TIMEOUT_S"  # overrides READ_TIMEOUT_S (tests use a short one)
START_TIMEOUT_S = 120.0  # starting the child (numpy, h5py imports); slow only under heavy load
CLOSE_WAIT_S = 2.0  # at exit, how long the idle child may take to see its input close
READ_CHUNK_BYTES = 1 << 20
HINT_START = "Check that `python -I -c 'import h5py'` works with this Python."
# -I: no user site, no PYTHON* variables, no script folder on sys.path; the parent's
# sys.path is passed instead, so the child finds the same numpy and h5py.
_BOOTSTRAP = ("import runpy, sys; sys.path[:] = sys.argv[2:]; "
              f"runpy.run_path(sys.argv[1], run_name={hdf5_tree.CHILD_RUN_NAME!r})")


class _Timeout(Exception):
    """The child did not answer before the deadline."""


class _Gone(Exception):
    """The child's pipe closed: it died."""


class _Child:
    """One reader process and its pipes; ``owner`` is the process that started it."""

    def __init__(self) -> None:
        command = [sys.executable, "-I", "-c", _BOOTSTRAP, hdf5_tree.__file__, *sys.path]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL)
        self.owner = os.getpid()
        # Both are pipes (PIPE above); the casts only tell the type checker so.
        self.requests, self.replies = cast(IO[bytes], self.process.stdin), cast(
            IO[bytes], self.process.stdout)

    def alive(self) -> bool:
        return self.owner == os.getpid() and self.process.poll() is None

    def send(self, message: Any) -> None:
        try:
            hdf5_tree.send(self.requests, message)
        except (BrokenPipeError, ValueError) as exc:  # ValueError: the pipe was closed
            raise _Gone from exc

    def receive(self, timeout_s: float) -> Any:
        """The next reply, read without blocking past ``timeout_s``."""
        fd, deadline = self.replies.fileno(), time.monotonic() + timeout_s
        size = hdf5_tree.FRAME.unpack(_read_exact(fd, hdf5_tree.FRAME.size, deadline))[0]
        return pickle.loads(_read_exact(fd, size, deadline))  # our own child wrote it

    def stop(self) -> int | None:
        """Kill the process (if still running) and return its exit code."""
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(BrokenPipeError):  # a request left unsent: the pipe is closed
            self.requests.close()
        self.replies.close()
        return self.process.wait()

    def close(self) -> None:
        """Let an idle child end by closing its input; kill it if it does not."""
        with contextlib.suppress(BrokenPipeError):
            self.requests.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=CLOSE_WAIT_S)
        self.stop()


def _read_exact(fd: int, size: int, deadline: float) -> bytes:
    poller = select.poll()  # not select.select: that fails on descriptors above 1023
    poller.register(fd, select.POLLIN)
    chunks, left = [], size
    while left:
        remaining_ms = math.ceil((deadline - time.monotonic()) * 1000)
        if remaining_ms <= 0 or not poller.poll(remaining_ms):
            raise _Timeout
        chunk = os.read(fd, min(left, READ_CHUNK_BYTES))
        if not chunk:
            raise _Gone
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


_lock = threading.Lock()  # one read at a time: replies come back in order
_child: _Child | None = None
_abandoned: list[_Child] = []  # a forked process's copy of its parent's child: left alone


def resolve_timeout_s(timeout_s: float | None) -> float:
    """The deadline: the argument, else the environment variable, else the default."""
    if timeout_s is not None:
        return _checked_timeout(timeout_s, "argument read_timeout_s")
    if os.environ.get(TIMEOUT_ENV):
        return _checked_timeout(os.environ[TIMEOUT_ENV], f"environment variable {TIMEOUT_ENV}")
    return READ_TIMEOUT_S


def _checked_timeout(value: Any, where: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise FrontendError(where, f"is {value!r}, not a positive number of seconds.",
                            f"Give a time such as {READ_TIMEOUT_S:g}.")
    return seconds


def read_tree(path: Path, timeout_s: float) -> tuple[str | None, dict[str, Any]]:
    """(version, tree) of the file, read by the child; a child that misses the deadline dies."""
    global _child
    with _lock:
        child = _ready_child(path)
        try:
            reply = child.receive(timeout_s)
        except _Timeout:
            _child = None
            child.stop()
            raise _timeout_error(path, timeout_s) from None
        except _Gone:
            _child = None
            raise _crash_error(path, child.stop()) from None
        except BaseException:  # KeyboardInterrupt: the late reply must not answer the next read
            _child = None
            child.stop()
            raise
    return _outcome(path, reply)


def _ready_child(path: Path) -> _Child:
    """The running child (a dead one replaced first), with ``path`` sent to it."""
    global _child
    if _child is not None and not _child.alive():
        _child.stop()  # died while idle (killed from outside): reap it, close its pipes
        _child = None
    if _child is None:
        _child = _start_child(path)
    try:
        _child.send(str(path))
    except _Gone:  # it died while idle: killed from outside, not by this file
        child, _child = _child, None
        raise FrontendError(str(path), f"cannot be read: the reader process stopped before it "
                            f"got the file ({_exit_text(child.stop())}).", HINT_START) from None
    return _child


def _start_child(path: Path) -> _Child:
    try:
        child = _Child()
    except (OSError, ValueError) as exc:
        raise FrontendError(str(path), f"cannot be read: the reader process did not start "
                            f"({exc}).", HINT_START) from exc
    try:
        child.receive(START_TIMEOUT_S)  # ("ready",): numpy and h5py are imported
    except _Timeout:
        child.stop()
        raise FrontendError(str(path), f"cannot be read: the reader process did not get "
                            f"ready within {START_TIMEOUT_S:g} s.", HINT_START) from None
    except _Gone:
        raise FrontendError(str(path), f"cannot be read: the reader process stopped before it "
                            f"was ready ({_exit_text(child.stop())}).", HINT_START) from None
    return child


def _timeout_error(path: Path, timeout_s: float) -> FrontendError:
    return FrontendError(str(path), f"was not read within {timeout_s:g} s: the HDF5 library "
                         "did not finish, which almost always means corrupted HDF5 metadata "
                         "(the library can loop on it forever); the reader was stopped.",
                         "Write the model again with nir.write. If the file is large and "
                         "intact, allow more time: read_nir(..., read_timeout_s=SECONDS) or "
                         f"the environment variable {TIMEOUT_ENV}.")


def _crash_error(path: Path, code: int | None) -> FrontendError:
    return FrontendError(str(path), f"made the HDF5 reader process crash ({_exit_text(code)}).",
                         "Write the model again with nir.write; a damaged copy cannot be "
                         "repaired.")


def _outcome(path: Path, reply: Any) -> tuple[str | None, dict[str, Any]]:
    if reply[0] == "error":
        _, where, what, hint = reply
        raise FrontendError(str(path) if where == "/" else f"{path}, HDF5 object '{where}'",
                            what, hint)
    return reply[1], reply[2]


def _exit_text(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _forget_after_fork() -> None:
    """In a forked process, leave the parent's child to the parent."""
    global _child, _lock
    if _child is not None:
        _abandoned.append(_child)
    _child, _lock = None, threading.Lock()


def stop_reader() -> None:
    """End the reader child of this process, if any; the next read starts a new one."""
    global _child
    with _lock:
        if _child is not None and _child.owner == os.getpid():
            _child.close()
        _child = None


os.register_at_fork(after_in_child=_forget_after_fork)
atexit.register(stop_reader)
