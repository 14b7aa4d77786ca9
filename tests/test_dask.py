"""tag_batch is a plain function of a list of texts, so it runs unchanged inside Dask."""

import re

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


def test_readme_dask_example_runs(use_model, seed_rows, tmp_path, monkeypatch):
    pytest.importorskip("dask.dataframe")
    import pandas as pd

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "dask" in b]
    write_jsonl(tmp_path / "corpus.jsonl", [{"id": r["id"], "text": r["text"]} for r in seed_rows])
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    texts = [r["text"] for r in seed_rows]
    assert namespace["tagged"] == tag_batch(texts)
    written = pd.read_parquet(tmp_path / "tagged")
    assert [list(t) for t in written["topics"]] == [r["topics"] for r in tag_batch(texts)]
