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
    assert defaults.model_dir() == repo / "model"
    (package / "model").mkdir()
    assert defaults.model_dir() == package / "model"
    (work / "model").mkdir()
    assert defaults.model_dir().resolve() == (work / "model").resolve()


def test_training_never_writes_into_the_installed_copy(places):
    _, package, repo = places
    (package / "model").mkdir()
    assert defaults.model_dir(installed=False) == repo / "model"


def test_labels_have_no_installed_copy(places):
    _, package, repo = places
    (package / "labels").mkdir()
    assert defaults.labels_dir() == repo / "labels"
