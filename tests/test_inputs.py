"""Reading articles: encodings, binary data, HTML, paths. Bad input is one clear error."""

import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import topictag.htmltext as htmltext
import topictag.inputs as inputs
from topictag.errors import InputError, one_line
from topictag.htmltext import NO_MAIN_TEXT_EXTRACTOR
from topictag.inputs import decode, expand, read_file, read_inputs, read_stdin

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


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", [TEXT, "Газпром и Азербайджан подписали соглашение о газе."])
def test_utf16_without_a_byte_order_mark_is_refused_with_its_encoding(codec, text):
    """Neither binary data nor a Windows code page: the error names the --encoding to give."""
    data = text.encode(codec)
    with pytest.raises(InputError, match=rf"^x\.txt: looks like UTF-16 .* --encoding {codec}$"):
        decode(data, "x.txt")
    assert decode(data, "x.txt", codec)[0] == text


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


def test_without_trafilatura_html_is_converted_with_one_warning_per_run(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "trafilatura", None)  # import trafilatura: ImportError
    for name in ("a.html", "b.html"):
        (tmp_path / name).write_text("<html><body><p>Gas.</p><p>Oil.</p></body></html>")
    (tmp_path / "c.txt").write_text("Gas.")
    articles = list(read_inputs([str(tmp_path)]))
    assert [a.text for a in articles] == ["Gas.\n\nOil.", "Gas.\n\nOil.", "Gas."]
    assert [a.warnings for a in articles] == [[NO_MAIN_TEXT_EXTRACTOR], [], []]


def test_html_over_the_size_limit_gets_the_plain_extractor_and_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(htmltext, "HTML_MAX_MAIN_TEXT_CHARS", 10)
    page = tmp_path / "page.html"
    page.write_text("<html><body><nav>Home</nav><p>Gas.</p><p>Oil.</p></body></html>")
    article = read_file(page)
    assert article.text == "Gas.\n\nOil."
    assert len(article.warnings) == 1
    assert article.warnings[0].startswith(f"{page}: HTML over ")
    assert "plain extractor" in article.warnings[0]


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

    monkeypatch.setattr(inputs, "read_regular", refuse)
    with pytest.raises(InputError, match="secret.txt: permission denied"):
        read_file(path)


def test_a_directory_that_may_not_be_searched_is_skipped_and_the_rest_tagged(tmp_path, monkeypatch):
    """As for a user without rights on one folder of a tree: its entries cannot be looked at
    (stat and listing refused); the other folders' articles are still read."""
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "a.txt").write_text("gas pipeline")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "b.txt").write_text("oil")
    locked = str(tmp_path / "locked")
    stat, scandir = os.stat, os.scandir

    def guarded(real):
        def call(path, *args, **kwargs):
            if os.fspath(path).startswith(locked + os.sep):
                raise PermissionError(13, "Permission denied", os.fspath(path))
            if real is scandir and os.fspath(path) == locked:
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return real(path, *args, **kwargs)

        return call

    monkeypatch.setattr(os, "stat", guarded(stat))
    monkeypatch.setattr(os, "scandir", guarded(scandir))
    assert list(inputs.expand([str(tmp_path)])) == [str(tmp_path / "ok" / "a.txt")]


def test_an_empty_path_is_refused_not_read_as_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("gas")
    (item,) = inputs.expand([""])
    assert isinstance(item, InputError) and "empty path" in str(item)


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


def test_directories_skip_hidden_folders_hidden_files_and_virtual_environments(tmp_path):
    """`tag .` in a project tags its articles, not .venv/, .git/ or site-packages."""
    for name in [
        "a.txt",
        ".hidden.txt",
        ".venv/lib/site-packages/pkg/LICENSE.txt",
        ".git/x.txt",
        "env/lib/y.txt",
        "sub/b.html",
        "sub/.cache/c.txt",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("Gas.")
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert list(inputs.expand([str(tmp_path)])) == [
        str(tmp_path / "a.txt"),
        str(tmp_path / "sub" / "b.html"),
    ]
    # A hidden folder or a virtual environment named on the command line is walked.
    assert list(inputs.expand([str(tmp_path / ".git")])) == [str(tmp_path / ".git" / "x.txt")]
    assert list(inputs.expand([str(tmp_path / "env")])) == [str(tmp_path / "env/lib/y.txt")]


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


@pytest.mark.parametrize("codec", ["utf-32", "utf-32-be"])
def test_utf32_with_a_byte_order_mark_is_read_not_taken_for_utf16(codec):
    """UTF-32's little-endian mark begins as UTF-16's does (FF FE): read as UTF-16, every
    other character would be a NUL, and the text would be tagged as nothing."""
    mark = b"\x00\x00\xfe\xff" if codec == "utf-32-be" else b""
    assert decode(mark + TEXT.encode(codec), "x")[0] == TEXT


def test_a_codec_that_decodes_nothing_is_refused_before_reading():
    with pytest.raises(InputError, match="'undefined' decodes nothing"):
        inputs.check_encoding("undefined")


def test_closed_stdin_is_an_input_error(monkeypatch):
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(InputError, match="<stdin>: closed"):
        read_stdin()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_in_a_directory_is_an_input_that_is_refused_not_skipped(tmp_path):
    (tmp_path / "a.txt").write_text("Gas.")
    os.mkfifo(tmp_path / "pipe.txt")
    found = list(read_inputs([str(tmp_path)]))
    assert [a.source for a in found if not isinstance(a, InputError)] == [str(tmp_path / "a.txt")]
    assert [str(e) for e in found if isinstance(e, InputError)] == [
        f"{tmp_path / 'pipe.txt'}: a FIFO (named pipe), not a regular file"
    ]


def test_a_file_keeps_its_name_as_given(tmp_path, monkeypatch):
    """``./-`` is a file named "-", not stdin: its source must not read as stdin's."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-").write_text("Gas.")
    assert read_file("./-").source == "./-"


def test_a_html_file_without_a_tag_is_plain_text_with_its_paragraphs(tmp_path):
    (tmp_path / "saved.html").write_text("Gas flows rose.\n\nOil prices fell.\n\nTalks went on.")
    article = read_file(tmp_path / "saved.html")
    assert article.text == "Gas flows rose.\n\nOil prices fell.\n\nTalks went on."
    (tmp_path / "page.html").write_text("<p>Gas flows rose.</p>\n\n<p>Oil prices fell.</p>")
    assert read_file(tmp_path / "page.html").text == "Gas flows rose.\n\nOil prices fell."


@given(st.dictionaries(st.text(), st.text()), st.booleans())
def test_a_utf8_json_line_is_never_taken_for_utf16_or_utf32(row, ascii_only):
    line = (json.dumps(row, ensure_ascii=ascii_only) + "\n").encode("utf-8")
    inputs.refuse_wide_json_lines(line, "c.jsonl")  # no error


@given(st.dictionaries(st.text(), st.text()))
def test_a_json_line_in_utf16_or_utf32_without_a_mark_is_named(row):
    line = json.dumps(row, ensure_ascii=False) + "\n"
    for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        with pytest.raises(InputError, match=rf"^c\.jsonl: {codec.upper()} text \(no byte order"):
            inputs.refuse_wide_json_lines(line.encode(codec), "c.jsonl")


def test_a_directory_tree_deeper_than_python_recursion_is_walked(tmp_path):
    """The walk keeps a stack, not recursion (os.walk in Python 3.11 recursed, and 1,000
    levels ended in a RecursionError traceback)."""
    (tmp_path / "top.txt").write_text("Oil.")
    deep = tmp_path
    for _ in range(1000):  # one level at a time: pathlib's mkdir(parents=True) recurses too
        deep = deep / "d"
        deep.mkdir()
    (deep / "a.txt").write_text("Gas.")
    try:
        assert list(expand([str(tmp_path)])) == [str(deep / "a.txt"), str(tmp_path / "top.txt")]
    finally:  # taken down one level at a time too: pytest's clean-up recurses and fails
        (deep / "a.txt").unlink()
        while deep != tmp_path:
            deep.rmdir()
            deep = deep.parent
