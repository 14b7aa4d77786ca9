"""Train topictag's model on labels/ and seeds/, evaluate it, and write it to model/.

The same as `topictag train`; run `python train.py --help` for the options.
"""

from topictag.cli import app

if __name__ == "__main__":
    import sys

    app(["train", *sys.argv[1:]], prog_name="train.py")
