"""Files read and written safely: regular files only, written whole or not at all.

- :func:`read_regular` reads a regular file (or a symbolic link to one) and refuses anything
  else before reading a byte: a device such as ``/dev/zero`` never ends, and a FIFO with no
  writer would wait forever (it is opened without blocking, then refused).
- :func:`write_atomic` writes to a temporary name beside the target, fsyncs and renames, so
  a full disk or a crash leaves the previous file (or none), never a torn one.
- Temporary names carry the writer's process id (:func:`temp_name`); :func:`remove_stale`
  removes those that a killed run left behind, and :func:`discard_dir` a working directory
  that other processes may still be writing into.

Standard library only: the tagging path imports this module.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import re
import stat
import sys
import time
from pathlib import Path

#: A temporary file or directory is removed by a later run only when its writer's process is
#: gone and it has not changed for this many seconds (a live writer on another machine sharing
#: the directory may carry a process id that is free here).
STALE_SECONDS = 60.0


class TooLarge(ValueError):
    """More bytes than the caller's limit."""


def kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, for a message: "a FIFO", "a device", ..."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _check_regular(path: str | os.PathLike, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
    what = kind(mode)
    if what == "a device":  # /dev/zero, a disk: read whole, never ends
        raise ValueError("a device, not a file")
    raise ValueError(f"{what}, not a regular file")


def read_regular(path: str | os.PathLike, limit: int | None = None) -> bytes:
    """The content of a regular file (or a symbolic link to one).

    ``ValueError`` for a device, FIFO or socket (nothing is read), ``IsADirectoryError`` for a
    directory, :class:`TooLarge` for more than ``limit`` bytes, ``OSError`` as ``open`` raises.
    """
    _check_regular(path, os.stat(path).st_mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    with open(os.open(path, flags), "rb") as fh:  # a FIFO swapped in meanwhile cannot block
        _check_regular(path, os.fstat(fh.fileno()).st_mode)
        return read_limited(fh, limit)


def read_limited(stream, limit: int | None) -> bytes:
    """All of ``stream``, or :class:`TooLarge` past ``limit`` bytes."""
    if limit is None:
        return stream.read()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"over {limit:,} bytes")
    return data


def temp_name(path: Path, suffix: str = "tmp") -> Path:
    """A hidden name beside ``path`` for a file being written: ``.NAME.PID-RANDOM.SUFFIX``."""
    return path.parent / f".{_stem(path.name)}.{os.getpid()}-{os.urandom(4).hex()}.{suffix}"


def _stem(name: str) -> str:
    """``name``, or for a name too long to take the temporary name's 25 more bytes (a file
    name has at most 255), its first 100 bytes and a digest of the whole."""
    encoded = os.fsencode(name)
    if len(encoded) <= 200:
        return name
    short = name
    while len(os.fsencode(short)) > 100:
        short = short[:-1]
    return f"{short}~{hashlib.sha1(encoded).hexdigest()[:12]}"


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (a short write to a regular file is rare)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def not_replaceable(path: str | os.PathLike) -> str | None:
    """Why a write may not rename a new file over ``path``, or None: nothing is there, or a
    regular file (also through a link). A FIFO, a device or a socket would be replaced by a
    plain file (run as root, ``-o /dev/null`` would replace the device itself)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    return "is a directory" if stat.S_ISDIR(mode) else f"{kind(mode)}, not a regular file"


def write_path(path: str | os.PathLike) -> Path:
    """Where a write to ``path`` goes: for a symbolic link, the file it points to, so that the
    rename that completes the write replaces that file and the link stays a link. ``OSError``
    when what is there may not be replaced (:func:`not_replaceable`)."""
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    if problem := not_replaceable(path):
        raise OSError(errno.EINVAL, problem, str(path))
    return path


def keep_mode(new: int | Path, old: Path) -> None:
    """Give the new file (a descriptor or a path) that will be renamed over ``old`` the
    permission bits of ``old``, and its owner where allowed: a rename replaces the file, so a
    private (0600) output would otherwise come back readable by all. Set-user-ID and
    set-group-ID bits are not copied (data is not a program). Nothing when ``old`` is not
    there."""
    try:
        st = os.stat(old)
    except OSError:
        return
    with contextlib.suppress(OSError):  # only root may give a file away; keep ours then
        if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
            os.chown(new, st.st_uid, st.st_gid)
    os.chmod(new, stat.S_IMODE(st.st_mode) & 0o777)  # after chown, which clears such bits


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Put ``data`` in ``path`` (:func:`write_path`) whole or not at all: written under a
    temporary name beside it, fsynced, renamed over it, with the permissions of the file it
    replaces (:func:`keep_mode`); ``mode`` is that of a new file. ``OSError`` (full disk,
    read-only file system) leaves ``path`` as it was and no temporary file; those that killed
    runs left are removed."""
    write_atomic_set({path: data}, mode)


def write_atomic_set(contents: dict[Path, bytes], mode: int = 0o644) -> None:
    """:func:`write_atomic` for several files that belong together (the charts of one report):
    every file is written and fsynced under its temporary name before any is renamed into
    place, so a full disk leaves the old set, not a mix of old and new files."""
    paths = {write_path(path): data for path, data in contents.items()}
    temps: list[tuple[Path, Path]] = []
    try:
        for path, data in paths.items():
            remove_stale(path)
            tmp = temp_name(path)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(tmp, flags, mode)
            temps.append((tmp, path))
            try:
                keep_mode(fd, path)
                write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        while temps:
            os.replace(*temps[0])
            temps.pop(0)
    except BaseException:
        for tmp, _ in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    for directory in {path.parent for path in paths}:
        fsync_dir(directory)


def try_making(path: Path) -> None:
    """Make and remove a directory named after ``path`` (:func:`temp_name`) in its nearest
    existing parent: the ``OSError`` a write there would meet (a read-only file system, no
    permission), before a long run rather than at its end."""
    parent = Path(path).parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    trial = temp_name(parent / Path(path).name)
    trial.mkdir(0o755)
    trial.rmdir()


def make_dirs(path: Path) -> list[Path]:
    """Make the directory ``path`` and its missing parents, as ``mkdir -p``; returns those it
    made, innermost first, for :func:`remove_made` to take back if the run fails. On an
    ``OSError`` none is left."""
    missing = []
    path = Path(path)
    while not (path.exists() or path.is_symlink()) and path != path.parent:
        missing.append(path)
        path = path.parent
    made: list[Path] = []
    try:
        for directory in reversed(missing):
            try:
                directory.mkdir(0o755)
            except FileExistsError:  # made meanwhile by another run: not ours to remove
                if not directory.is_dir():
                    raise
                continue
            made.insert(0, directory)
    except BaseException:
        remove_made(made)
        raise
    return made


def remove_made(made: list[Path]) -> None:
    """Remove the directories :func:`make_dirs` made, innermost first: those left empty (a file
    put there meanwhile by someone else stays, and so does its directory)."""
    for directory in made:
        with contextlib.suppress(OSError):
            directory.rmdir()


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable (where the system allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs here (True when it cannot be told)."""
    if os.name != "posix":
        return True  # os.kill(pid, 0) would send Ctrl-C on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


@contextlib.contextmanager
def replacing(path: Path):
    """Hold an exclusive lock on the directory that holds ``path`` while the body replaces
    ``path``, so that two processes swapping in a new ``path`` at once do it one after the
    other (the last one wins and neither fails halfway), and no reader (:func:`reading`) is
    between two of its files. The directory itself is locked (an advisory ``flock``), so no
    lock file is made, beside ``path`` or anywhere else (one in the temporary directory for
    every model path ever trained piled up there); it waits, as a swap is short. Where
    advisory locks are missing (not POSIX) or refused, no lock."""
    with _parent_locked(path, shared=False):
        yield


@contextlib.contextmanager
def reading(path: Path):
    """Hold a shared lock on the directory that holds ``path`` while the body reads several
    files of ``path``: a swap (:func:`replacing`) waits until they are read, so they are all
    of one model (a process loading while a training swapped its model in read the old
    metrics and the new weights: "checksum mismatch")."""
    with _parent_locked(path, shared=True):
        yield


@contextlib.contextmanager
def _parent_locked(path: Path, shared: bool):
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    parent = os.path.dirname(os.path.realpath(path))
    try:
        fd = os.open(parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        except OSError:  # a file system that refuses locks on directories
            pass
        yield
    finally:
        os.close(fd)  # closing releases the lock


def exchange(a: Path, b: Path) -> bool:
    """Swap the names ``a`` and ``b`` (both exist) in one step, so no moment and no crash can
    find either name missing: Linux ``renameat2`` with ``RENAME_EXCHANGE``. False where it is
    not available (another system or C library, a file system without it); nothing changed."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_cwd, rename_exchange = -100, 2
    done = renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), rename_exchange)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a))


def remove_stale(path: Path, now: float | None = None) -> list[Path]:
    """Remove the temporary files and directories named after ``path`` (see :func:`temp_name`)
    that a run killed before it could clean up left beside it: their process is gone and they
    have not changed for :data:`STALE_SECONDS`. Returns what was removed."""
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(_stem(path.name))}\.(\d+)-[0-9a-f]+\.(?:tmp|old)")
    now = time.time() if now is None else now
    removed = []
    try:
        with os.scandir(path.parent) as scan:  # closed also when reading it fails
            entries = list(scan)
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if not match or pid_alive(int(match.group(1))):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < STALE_SECONDS:
                continue
            if entry.is_dir(follow_symlinks=False):
                import shutil

                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def discard_dir(path: Path, beside: Path) -> None:
    """Remove the working directory ``path``, which other processes may still be writing into
    (a cancelled task of a cluster run cannot be stopped). It is renamed first, to a temporary
    name of ``beside``: after that, nothing can appear in it by its old path, so the removal
    cannot be raced by a late file and leave the directory behind."""
    doomed = temp_name(Path(beside), "old")
    try:
        os.rename(path, doomed)
    except FileNotFoundError:
        return
    except OSError:
        doomed = Path(path)
    import shutil

    shutil.rmtree(doomed, ignore_errors=True)


def cannot_write(path: str | os.PathLike, exc: OSError) -> str:
    """The one-line reason a write failed: ``PATH: cannot write (No space left on device)``,
    also from pyarrow, whose errors carry the system's error number only in their text
    ("Error writing bytes to file. Detail: [errno 28] No space left on device")."""
    reason = exc.strerror or str(exc)
    if number := re.search(r"\[errno (\d+)\]", reason):
        reason = os.strerror(int(number[1]))
    return f"{path}: cannot write ({reason})"


def _stdout_file() -> os.stat_result | None:
    """The status of this process's standard output when it is a regular file, else None."""
    try:
        out = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):  # no such stream
        return None
    return out if stat.S_ISREG(out.st_mode) else None


def stdout_is_a_file() -> bool:
    """Whether standard output is redirected to a regular file (``> out``, ``>> out``)."""
    return _stdout_file() is not None


def stdout_is(source: str | os.PathLike) -> bool:
    """Whether this process's standard output is the file ``source`` (``tag --input c.jsonl
    >> c.jsonl``): the rows written would be appended to the rows still to read."""
    if (out := _stdout_file()) is None:
        return False
    try:
        return os.path.samestat(out, os.stat(source))
    except (OSError, ValueError):
        return False


def why_not_a_file(path: str | os.PathLike) -> str:
    """Why ``path``, which is not a regular file, cannot be read as one, for a message: "no
    such file", "broken symbolic link", "is a directory", "a FIFO (named pipe), not a
    regular file", or what the system says ("too many levels of symbolic links")."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "broken symbolic link" if os.path.islink(path) else "no such file"
    except OSError as exc:
        return (exc.strerror or str(exc)).lower()
    return "is a directory" if stat.S_ISDIR(mode) else f"{kind(mode)}, not a regular file"
