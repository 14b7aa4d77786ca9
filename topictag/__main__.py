"""The ``topictag`` command (``python -m topictag`` too)."""

import sys


def main() -> None:
    """Run the CLI; Ctrl-C while its modules load (a second or so on a cold start) ends as
    it does later, with one line and exit code 130, not a traceback of the imports."""
    try:
        from topictag.cli import app
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    app(prog_name="topictag")


if __name__ == "__main__":
    main()
