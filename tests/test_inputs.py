"""Reading articles: encodings, binary data, HTML, paths. Bad input is one clear error."""

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import topictag.inputs as inputs
from topictag.errors import InputError, one_line
from topictag.inputs import decode, read_file, read_inputs, read_stdin

TEXT = "Gas exports rose.\n\nРоссия и Азербайджан."


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        b"\xef\xbb\xbf" + TEXT.encode("utf-8"),
        TEXT.encode("utf-16"),  # with BOM
        TEXT.encode("utf-16-be").join([b"\xfe\xff", b""]),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom"],
)
def test_unicode_encodings_are_read(data):
    assert decode(data, "x")[0] == TEXT


def test_crlf_text_is_kept_for_the_splitter():
    assert decode(b"a\r\n\r\nb", "x")[0] == "a\r\n\r\nb"


def test_windows_1251_is_refused_with_a_hint_naming_the_file():
    with pytest.raises(InputError, match=r"^ru\.txt: not UTF-8 text .*--encoding cp1251"):
        decode("Газпром и SOCAR".encode("cp1251"), "ru.txt")


def test_explicit_encoding_decodes_it():
    assert decode("Газпром".encode("cp1251"), "x", "cp1251")[0] == "Газпром"
    assert decode("café".encode("latin-1"), "x", "latin-1")[0] == "café"


def test_unknown_encoding():
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        decode(b"abc", "x", "klingon")


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        bytes(range(256)) * 4,
    ],
    ids=["pdf", "png", "random"],
)
def test_binary_data_is_refused(data):
    with pytest.raises(InputError, match="binary data, not text"):
        decode(data, "x")


def test_a_few_nul_bytes_are_stripped_with_a_warning():
    text, warnings = decode(b"Oil\x00 prices " + b"rose sharply this week. " * 20, "x")
    assert "\x00" not in text and text.startswith("Oil prices")
    assert warnings == ["x: removed NUL bytes from the text"]


def test_html_file_is_turned_into_text(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><nav>Home | Oil</nav><p>Gas &amp; oil.</p><p>Next.</p></body></html>"
    )
    assert read_file(page).text == "Gas & oil.\n\nNext."


def test_html_content_in_a_txt_file_is_recognised(tmp_path):
    page = tmp_path / "page.txt"
    page.write_text("<!DOCTYPE html><html><p>Sanctions.</p></html>")
    assert read_file(page).text == "Sanctions."


def test_missing_file_and_broken_symlink(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_file(tmp_path / "nope.txt")
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "gone.txt")
    with pytest.raises(InputError, match="broken symbolic link"):
        read_file(link)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without read permission")
def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("x")
    path.chmod(0)
    with pytest.raises(InputError, match="permission denied"):
        read_file(path)


def test_unreadable_file_error_even_as_root(tmp_path, monkeypatch):
    path = tmp_path / "secret.txt"
    path.write_text("x")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(inputs, "open", refuse, raising=False)
    with pytest.raises(InputError, match="secret.txt: permission denied"):
        read_file(path)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_device_is_refused_not_read_forever():
    with pytest.raises(InputError, match="/dev/zero: a device, not a file"):
        read_file(Path("/dev/zero"))


def test_an_article_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "MAX_ARTICLE_BYTES", 10)
    path = tmp_path / "a.txt"
    path.write_bytes(b"x" * 10)
    assert read_file(path).text == "x" * 10
    path.write_bytes(b"x" * 11)
    with pytest.raises(InputError, match="a.txt: over .* too large for one article; .*--input"):
        read_file(path)


def test_stdin_over_the_size_limit_is_refused(monkeypatch):
    import io
    import sys

    monkeypatch.setattr(inputs, "MAX_ARTICLE_BYTES", 10)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"y" * 11)))
    with pytest.raises(InputError, match="<stdin>: over"):
        read_stdin()


def test_directories_expand_to_text_and_html_files_and_bad_inputs_do_not_stop_the_rest(tmp_path):
    (tmp_path / "b.txt").write_text("B")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.html").write_text("<p>A</p>")
    (tmp_path / "skip.png").write_bytes(b"\x89PNG")
    (tmp_path / "empty").mkdir()
    items = list(read_inputs([str(tmp_path), str(tmp_path / "empty"), str(tmp_path / "nope")]))
    good = [i for i in items if not isinstance(i, InputError)]
    bad = [str(i) for i in items if isinstance(i, InputError)]
    assert [Path(a.source).name for a in good] == ["b.txt", "a.html"]
    assert [a.text for a in good] == ["B", "A"]
    assert len(bad) == 2 and "has no .txt or .html files" in bad[0] and "no such file" in bad[1]


@given(st.text())
def test_one_line_leaves_no_line_break_and_printable_text_as_it_is(text):
    shown = one_line(text)
    assert len(shown.splitlines()) <= 1
    if text.isprintable():
        assert shown == text
