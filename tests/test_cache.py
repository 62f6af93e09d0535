"""Incremental builds: only changed articles are re-extracted; removed articles leave the graph.

The cache is OUT/.cache of `kg build` (kg.api.build). A record partition whose files are unchanged
is reused without reading them (tests/test_stream.py), so these tests touch a file to make its
partition read the cache."""
from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest

from kg import api

CORPUS = Path(__file__).resolve().parents[1] / "examples" / "corpus"


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def touch(path: Path) -> None:
    """A new mtime, the same bytes: the partition is extracted again, from the cache."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def names(out: Path) -> set[str]:
    with (out / "entities.csv").open(encoding="utf-8", newline="") as f:
        return {row["name"] for row in csv.DictReader(f)}


def test_rebuild_reextracts_only_changed_articles(tmp_path, nlp):
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    shutil.copytree(CORPUS, corpus)
    first = api.build(corpus, out, nlp=nlp)
    assert (first.cached, first.articles) == (0, 3)
    before = (out / "graph.ttl").read_bytes()

    touch(sorted(corpus.glob("*.txt"))[0])
    again = api.build(corpus, out, nlp=nlp)
    assert (again.cached, again.reused) == (3, 0)
    assert (out / "graph.ttl").read_bytes() == before

    changed = sorted(corpus.glob("*.txt"))[0]
    changed.write_text(changed.read_text("utf-8") + "\n　　区商务局局长林海峰出席。\n", encoding="utf-8")
    third = api.build(corpus, out, nlp=nlp)
    assert third.cached == 2
    assert "林海峰" in names(out)


def test_removed_article_leaves_the_graph_and_the_cache(tmp_path, nlp):
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    write(corpus, "a.txt", "区财政局党组书记、局长张志远出席会议。")
    write(corpus, "b.txt", "区商务局副局长刘海涛介绍情况。")
    api.build(corpus, out, nlp=nlp)
    assert len(list((out / ".cache").glob("*.json"))) == 2
    (corpus / "b.txt").unlink()
    api.build(corpus, out, nlp=nlp)
    assert "张志远" in names(out) and "刘海涛" not in names(out)
    assert len(list((out / ".cache").glob("*.json"))) == 1


def test_pipeline_change_misses_the_cache(tmp_path, nlp):
    from kg.cache import ExtractionCache
    from kg.ingest import read_article

    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    write(corpus, "a.txt", "区财政局党组书记、局长张志远出席会议。")
    api.build(corpus, out, nlp=nlp)
    article = read_article(corpus / "a.txt", root=corpus)
    assert ExtractionCache(out / ".cache", "another pipeline").get(article) is None
    assert ExtractionCache(out / ".cache", _version(nlp)).get(article) is not None


def _version(nlp) -> str:
    from kg import nlp as kg_nlp
    return kg_nlp.version(nlp)


class Payload:
    """Unpickling this runs code: it creates the file `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_issue10_cache_is_data_not_code(tmp_path, nlp):
    import pickle

    corpus, out, marker = tmp_path / "corpus", tmp_path / "out", tmp_path / "pwned"
    corpus.mkdir()
    write(corpus, "a.txt", "区财政局党组书记、局长张志远出席会议。")
    api.build(corpus, out, nlp=nlp)
    before = (out / "graph.ttl").read_bytes()
    entries = list((out / ".cache").iterdir())
    assert entries and all(json.loads(p.read_text("utf-8"))["schema"] for p in entries)
    for p in entries:  # an attacker who can write into the cache folder
        p.write_bytes(pickle.dumps(Payload(marker)))
        p.with_suffix(".pickle").write_bytes(pickle.dumps(Payload(marker)))
    touch(corpus / "a.txt")
    again = api.build(corpus, out, nlp=nlp)
    assert not marker.exists()
    assert again.cached == 0 and (out / "graph.ttl").read_bytes() == before


BAD_ENTRIES = [
    "",                                          # empty
    '{"schema": 1, "extraction": ',              # cut short
    "[]",                                        # not an object
    '{"schema": 999, "extraction": {}}',         # another schema version
    '{"schema": 1, "extraction": {"article": {"offsets": "x"}}}',
]


@pytest.mark.parametrize("bad", BAD_ENTRIES + ["wrong-types"])
def test_issue10_malformed_entry_is_a_miss(tmp_path, nlp, bad):
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    write(corpus, "a.txt", "区财政局党组书记、局长张志远出席会议。")
    api.build(corpus, out, nlp=nlp)
    [entry] = (out / ".cache").glob("*.json")
    if bad == "wrong-types":  # valid JSON, valid schema number, a name that is a number
        data = json.loads(entry.read_text("utf-8"))
        data["extraction"]["entities"][0]["name"] = 5
        bad = json.dumps(data)
    entry.write_text(bad, encoding="utf-8")
    touch(corpus / "a.txt")
    again = api.build(corpus, out, nlp=nlp)
    assert (again.cached, again.reused, again.articles) == (0, 0, 1) and not again.failures
    assert "张志远" in names(out)


def test_issue10_cache_round_trip_is_exact(extract_text):
    from kg import cache as kc
    ex = extract_text("区财政局党组书记、局长张志远出席会议。\n本报讯（记者 王雪）区商务局副局长刘海涛介绍情况。")
    assert kc.load(kc.dump(ex)) == ex
