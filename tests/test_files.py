"""Safe file reading and writing (topictag.files): regular files only, whole or nothing, and
the leftovers of killed runs removed."""

import errno
import os
import socket
import subprocess
import sys
import time

import pytest

from topictag import files
from topictag.files import (
    cannot_write,
    make_dirs,
    read_regular,
    remove_made,
    remove_stale,
    temp_name,
    try_making,
    write_atomic,
    write_atomic_set,
)

POSIX = pytest.mark.skipif(os.name != "posix", reason="FIFOs, sockets and devices: POSIX")


def test_a_regular_file_and_a_link_to_one_are_read(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"gas")
    (tmp_path / "link.txt").symlink_to(path)
    assert read_regular(path) == read_regular(tmp_path / "link.txt") == b"gas"
    with pytest.raises(files.TooLarge):
        read_regular(path, limit=2)


@POSIX
def test_a_fifo_without_a_writer_is_refused_at_once_not_waited_for(tmp_path):
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    code = f"from topictag.files import read_regular; read_regular({str(fifo)!r})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
    assert "a FIFO (named pipe), not a regular file" in done.stderr.decode()


@POSIX
def test_sockets_devices_and_directories_are_refused(tmp_path):
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "s.txt"))
        with pytest.raises(ValueError, match="a socket, not a regular file"):
            read_regular(tmp_path / "s.txt")
    finally:
        server.close()
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    with pytest.raises(ValueError, match="a device, not a file"):
        read_regular(tmp_path / "zero.txt")
    with pytest.raises(IsADirectoryError):
        read_regular(tmp_path)


def test_write_atomic_on_a_full_disk_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    path.write_bytes(b"old")

    def full(fd, data):
        os.write(fd, bytes(data[:2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_all", full)
    with pytest.raises(OSError, match="No space"):
        write_atomic(path, b"new content")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.txt"]
    monkeypatch.undo()
    write_atomic(path, b"new content")
    assert path.read_bytes() == b"new content" and os.listdir(tmp_path) == ["a.txt"]


def test_a_set_of_files_is_written_whole_or_left_as_it_was(tmp_path, monkeypatch):
    """The disk fills at the third file: the first two are not replaced either."""
    paths = [tmp_path / f"{n}.png" for n in "abcd"]
    for path in paths:
        path.write_bytes(b"old")
    calls = []

    def full_at_the_third(fd, data):
        calls.append(data)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        os.write(fd, data)

    monkeypatch.setattr(files, "write_all", full_at_the_third)
    with pytest.raises(OSError, match="No space"):
        write_atomic_set({path: b"new " + path.name.encode() for path in paths})
    assert [path.read_bytes() for path in paths] == [b"old"] * 4
    assert sorted(os.listdir(tmp_path)) == ["a.png", "b.png", "c.png", "d.png"]
    monkeypatch.undo()
    write_atomic_set({path: b"new " + path.name.encode() for path in paths})
    assert [path.read_bytes() for path in paths] == [b"new " + p.name.encode() for p in paths]
    assert sorted(os.listdir(tmp_path)) == ["a.png", "b.png", "c.png", "d.png"]


def test_directories_made_for_a_run_are_taken_back_if_still_empty(tmp_path):
    made = make_dirs(tmp_path / "a" / "b" / "c")
    assert made == [tmp_path / "a" / "b" / "c", tmp_path / "a" / "b", tmp_path / "a"]
    assert make_dirs(tmp_path / "a" / "b") == []  # there already: nothing to take back
    (tmp_path / "a" / "b" / "theirs.txt").write_text("x")
    remove_made(made)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b", "theirs.txt"]


def test_a_directory_that_cannot_be_made_leaves_none_of_its_parents(tmp_path, monkeypatch):
    real = os.mkdir

    def read_only_below_a(path, *args):
        if os.path.basename(path) != "a":
            raise OSError(errno.EROFS, "Read-only file system", path)
        real(path, *args)

    monkeypatch.setattr(os, "mkdir", read_only_below_a)
    with pytest.raises(OSError, match="Read-only"):
        make_dirs(tmp_path / "a" / "b")
    with pytest.raises(OSError, match="Read-only"):
        try_making(tmp_path / "x" / "y")
    assert os.listdir(tmp_path) == []


def dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_leftovers_of_dead_runs_are_removed_and_live_ones_kept(tmp_path):
    target = tmp_path / "out.parquet"
    dead = dead_pid()
    stale_file = tmp_path / f".out.parquet.{dead}-0a1b2c3d.tmp"
    stale_dir = tmp_path / f".out.parquet.{dead}-0a1b2c3e.old"
    fresh = tmp_path / f".out.parquet.{dead}-0a1b2c3f.tmp"  # just written: maybe another host's
    live = temp_name(target)  # this process's
    other = tmp_path / f".other.parquet.{dead}-0a1b2c3d.tmp"
    stale_file.write_bytes(b"x")
    stale_dir.mkdir()
    (stale_dir / "metrics.json").write_text("{}")
    for path in (fresh, live, other):
        path.write_bytes(b"x")
    hour_ago = time.time() - 3600
    for path in (stale_file, stale_dir, live, other):
        os.utime(path, (hour_ago, hour_ago))
    assert sorted(remove_stale(target)) == sorted([stale_file, stale_dir])
    assert fresh.exists() and live.exists() and other.exists()


def test_a_discarded_working_directory_is_gone_and_nothing_can_appear_in_it(tmp_path):
    """A cancelled cluster task may still be writing into the directory while the run cleans
    up: its open file is removed with the rest, and a file it creates afterwards by the old
    path fails instead of leaving the directory behind."""
    target = tmp_path / "out.parquet"
    parts = temp_name(target)
    parts.mkdir()
    (parts / "part-00000.parquet").write_bytes(b"done")
    with open(parts / "part-00001.tmp", "wb") as still_writing:
        files.discard_dir(parts, target)
        still_writing.write(b"late rows")
    with pytest.raises(FileNotFoundError):
        (parts / "part-00002.tmp").write_bytes(b"a task that starts late")
    assert list(tmp_path.iterdir()) == []
    files.discard_dir(parts, target)  # already gone: nothing to do


@pytest.mark.parametrize("name", ["o" * 250, "é" * 125, "a" * 200])
def test_a_temporary_name_fits_the_file_system_whatever_the_name(tmp_path, name):
    """A file name has at most 255 bytes; the temporary name of a long one is shortened, and
    the leftovers of a dead run writing it are still found."""
    target = tmp_path / name
    tmp = temp_name(target)
    assert len(os.fsencode(tmp.name)) <= 255
    tmp.write_bytes(b"x")
    stale = tmp.with_name(tmp.name.replace(f".{os.getpid()}-", f".{dead_pid()}-"))
    tmp.rename(stale)
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    assert remove_stale(target) == [stale]


def test_write_atomic_through_a_symbolic_link_replaces_the_file_it_points_to(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "page.html").write_bytes(b"old")
    (tmp_path / "page.html").symlink_to(tmp_path / "real" / "page.html")
    write_atomic(tmp_path / "page.html", b"new")
    assert (tmp_path / "page.html").is_symlink()
    assert (tmp_path / "real" / "page.html").read_bytes() == b"new"


@pytest.mark.parametrize(
    "exc",
    [
        OSError(28, "No space left on device"),
        OSError(28, "Error writing bytes to file. Detail: [errno 28] No space left on device"),
        OSError("Error writing bytes to file. Detail: [errno 28] No space left on device"),
    ],
    ids=["os", "pyarrow", "no number"],
)
def test_a_failed_write_is_named_with_the_system_reason(exc):
    assert cannot_write("o.parquet", exc) == "o.parquet: cannot write (No space left on device)"


def test_a_failed_write_without_an_error_number_keeps_its_message():
    assert cannot_write("o", OSError("disk on fire")) == "o: cannot write (disk on fire)"


@POSIX
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444])
def test_a_replaced_file_keeps_its_permissions_and_a_new_one_gets_the_default(tmp_path, mode):
    private = tmp_path / "private.json"
    private.write_text("old")
    private.chmod(mode)
    write_atomic(private, b"new")
    assert private.read_bytes() == b"new"
    assert private.stat().st_mode & 0o7777 == mode
    fresh = tmp_path / "fresh.json"
    write_atomic(fresh, b"new", mode=0o640)
    assert fresh.stat().st_mode & 0o777 == 0o640 & ~_umask()


@POSIX
def test_set_id_bits_are_not_copied_to_the_new_file(tmp_path):
    old = tmp_path / "out.jsonl"
    old.write_text("old")
    old.chmod(0o6755)
    write_atomic(old, b"new")
    assert old.stat().st_mode & 0o7777 == 0o755


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_replacing_leaves_no_lock_file_anywhere(tmp_path, monkeypatch):
    """Its lock was a file in the temporary directory for every path ever replaced (1,319 of
    them in /tmp after a few weeks of tests); it is now the directory that holds the path."""
    import tempfile

    scratch = tmp_path / "tmp"
    home = tmp_path / "project"
    scratch.mkdir()
    home.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with files.replacing(home / "model"):
        pass
    assert list(scratch.iterdir()) == [] and list(home.iterdir()) == []


def test_a_reader_of_a_directory_s_files_waits_for_a_swap_and_a_swap_for_it(tmp_path):
    """A process loading the model while a training swapped it in read the old metrics and
    the new weights: "checksum mismatch". Readers share the lock a swap takes alone."""
    import threading

    model = tmp_path / "model"
    model.mkdir()
    read = threading.Event()

    def reader():
        with files.reading(model):
            read.set()

    with files.replacing(model):
        thread = threading.Thread(target=reader)
        thread.start()
        assert not read.wait(0.3)  # waits while the swap holds the directory
    assert read.wait(10)
    thread.join()
    with files.reading(model), files.reading(model):  # readers do not wait for each other
        pass


def test_why_a_path_is_not_a_file_to_read_is_named(tmp_path):
    from topictag.files import why_not_a_file

    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    (tmp_path / "broken").symlink_to(tmp_path / "nothing")
    os.mkfifo(tmp_path / "pipe")
    assert why_not_a_file(tmp_path / "loop1") == "too many levels of symbolic links"
    assert why_not_a_file(tmp_path / "broken") == "broken symbolic link"
    assert why_not_a_file(tmp_path / "nothing") == "no such file"
    assert why_not_a_file(tmp_path) == "is a directory"
    assert why_not_a_file(tmp_path / "pipe") == "a FIFO (named pipe), not a regular file"
