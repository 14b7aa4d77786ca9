"""tag_batch is a plain function of a list of texts, so it runs unchanged inside Dask."""

import os
import re
import subprocess
import sys

import pytest
from conftest import ROOT, write_jsonl

from topictag import tag_batch

dask_bag = pytest.importorskip("dask.bag")


@pytest.mark.parametrize("scheduler", ["synchronous", "threads", "processes"])
def test_dask_bag_partitions_equal_direct_tag_batch(use_model, seed_rows, scheduler):
    texts = [r["text"] for r in seed_rows]
    bag = dask_bag.from_sequence(texts, npartitions=4)
    result = bag.map_partitions(tag_batch).compute(scheduler=scheduler, num_workers=2)
    assert result == tag_batch(texts)


def test_dask_dataframe_map_partitions(use_model, seed_rows):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {"id": [r["id"] for r in seed_rows], "text": [r["text"] for r in seed_rows]}
    )

    def tag_partition(part):
        tagged = tag_batch(part["text"].tolist())
        return part.assign(topics=[t["topics"] for t in tagged])

    meta = frame.head(0).assign(topics=pd.Series(dtype=object))
    ddf = dd.from_pandas(frame, npartitions=3).map_partitions(tag_partition, meta=meta)
    got = ddf.compute(scheduler="synchronous")
    assert got["topics"].tolist() == [t["topics"] for t in tag_batch(frame["text"].tolist())]


def _readme_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "dask" in b]
    return example


def test_readme_dask_example_runs(use_model, seed_rows, tmp_path, monkeypatch):
    pytest.importorskip("dask.dataframe")
    import pandas as pd

    write_jsonl(tmp_path / "corpus.jsonl", [{"id": r["id"], "text": r["text"]} for r in seed_rows])
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__main__"}
    exec(compile(_readme_example(), "README.md", "exec"), namespace)
    texts = [r["text"] for r in seed_rows]
    assert namespace["tagged"] == tag_batch(texts)
    written = pd.read_parquet(tmp_path / "tagged")
    assert [list(t) for t in written["topics"]] == [r["topics"] for r in tag_batch(texts)]


def test_readme_dask_example_runs_as_a_script(model_dir, seed_rows, tmp_path):
    """As a file run by python: dask.bag's spawned workers import the script again."""
    pytest.importorskip("dask.dataframe")
    import pandas as pd

    rows = [{"id": r["id"], "text": r["text"]} for r in seed_rows[:20]]
    write_jsonl(tmp_path / "corpus.jsonl", rows)
    (tmp_path / "example.py").write_text(_readme_example(), encoding="utf-8")
    env = {**os.environ, "TOPICTAG_MODEL": str(model_dir)}
    result = subprocess.run(
        [sys.executable, "example.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    written = pd.read_parquet(tmp_path / "tagged")
    expected = tag_batch([r["text"] for r in rows], model=model_dir)
    assert [list(t) for t in written["topics"]] == [r["topics"] for r in expected]
