"""Where the model, labels and seeds are looked for: argument, environment, then defaults."""

import pytest

from topictag import defaults


@pytest.fixture
def places(tmp_path, monkeypatch):
    """An empty working directory, an installed package and a checkout, each in tmp_path."""
    work, package, repo = (tmp_path / name for name in ("work", "site", "repo"))
    for path in (work, package, repo):
        path.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv(defaults.MODEL_ENV, raising=False)
    monkeypatch.setattr(defaults, "PACKAGE_DIR", package)
    monkeypatch.setattr(defaults, "REPO_ROOT", repo)
    return work, package, repo


def test_argument_then_environment(places, monkeypatch):
    monkeypatch.setenv(defaults.MODEL_ENV, "/from/env")
    assert str(defaults.model_dir("/given")) == "/given"
    assert str(defaults.model_dir()) == "/from/env"


def test_working_directory_then_installed_copy_then_checkout(places):
    work, package, repo = places
    assert defaults.model_dir() == work.joinpath("model").relative_to(work)  # none exists
    (repo / "model").mkdir()
    assert defaults.model_dir() == repo / "model"
    (package / "model").mkdir()
    assert defaults.model_dir() == package / "model"
    (work / "model").mkdir()
    (work / "model" / "metrics.json").write_text("{}")
    assert defaults.model_dir().resolve() == (work / "model").resolve()


@pytest.mark.parametrize(
    ("files", "ours"),
    [
        ((), False),
        (("weights.pt", "config.json"), False),
        (("metrics.json",), True),
        (("portable.json", "notes.txt"), True),
    ],
)
def test_a_model_folder_here_is_used_only_if_it_holds_a_topictag_model_s_files(places, files, ours):
    """Another tool's model/ in the working directory hid the shipped model ("not a topictag
    model"); a damaged model of ours is still the one used, and its damage reported."""
    work, package, _ = places
    (package / "model").mkdir()
    (work / "model").mkdir()
    for name in files:
        (work / "model" / name).write_text("")
    expected = work / "model" if ours else package / "model"
    assert defaults.model_dir().resolve() == expected.resolve()


def test_training_writes_model_in_the_working_directory_never_an_install_or_checkout(places):
    work, package, repo = places
    (package / "model").mkdir()
    (repo / "model").mkdir()
    assert defaults.model_dir(installed=False).resolve() == (work / "model").resolve()


@pytest.mark.parametrize("name", ["labels", "seeds"])
def test_labels_and_seeds_are_the_working_directorys_never_a_checkout_elsewhere(places, name):
    """label writes into them: run from /tmp, it once wrote into the checkout's labels."""
    work, package, repo = places
    (package / name).mkdir()
    (repo / name).mkdir()
    find = defaults.labels_dir if name == "labels" else defaults.seeds_dir
    assert find().resolve() == (work / name).resolve()
