"""Incremental builds: only changed articles are re-extracted; removed articles leave the graph."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kg import api

CORPUS = Path(__file__).resolve().parents[1] / "examples" / "corpus"


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def test_rebuild_reextracts_only_changed_articles(tmp_path, nlp):
    corpus, cache = tmp_path / "corpus", tmp_path / "cache"
    shutil.copytree(CORPUS, corpus)
    first = api.run(corpus, nlp, cache=cache)
    assert (first.cached, len(first.extractions)) == (0, 3)

    again = api.run(corpus, nlp, cache=cache)
    assert again.cached == 3
    assert [e.to_gold() for e in again.extractions] == [e.to_gold() for e in first.extractions]

    changed = sorted(corpus.glob("*.txt"))[0]
    changed.write_text(changed.read_text("utf-8") + "\n　　区商务局局长林海峰出席。\n", encoding="utf-8")
    third = api.run(corpus, nlp, cache=cache)
    assert third.cached == 2
    names = {e.name for ex in third.extractions for e in ex.entities}
    assert "林海峰" in names


def test_removed_article_leaves_the_graph_and_the_cache(tmp_path, nlp):
    corpus, cache = tmp_path / "corpus", tmp_path / "cache"
    corpus.mkdir()
    write(corpus, "a.txt", "区财政局党组书记、局长张志远出席会议。")
    write(corpus, "b.txt", "区商务局副局长刘海涛介绍情况。")
    api.run(corpus, nlp, cache=cache)
    assert len(list(cache.glob("*.json"))) == 2
    (corpus / "b.txt").unlink()
    result = api.run(corpus, nlp, cache=cache)
    names = {e.name for ex in result.extractions for e in ex.entities}
    assert "张志远" in names and "刘海涛" not in names
    assert len(list(cache.glob("*.json"))) == 1


def test_pipeline_change_misses_the_cache(tmp_path, nlp):
    from kg.cache import ExtractionCache

    corpus, cache = tmp_path / "corpus", tmp_path / "cache"
    corpus.mkdir()
    write(corpus, "a.txt", "区财政局党组书记、局长张志远出席会议。")
    ex = api.run(corpus, nlp, cache=cache).extractions[0]
    assert ExtractionCache(cache, "another pipeline").get(ex.article) is None


class Payload:
    """Unpickling this runs code: it creates the file `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_issue10_cache_is_data_not_code(tmp_path, nlp):
    import pickle

    corpus, cache, marker = tmp_path / "corpus", tmp_path / "cache", tmp_path / "pwned"
    corpus.mkdir()
    write(corpus, "a.txt", "区财政局党组书记、局长张志远出席会议。")
    first = api.run(corpus, nlp, cache=cache)
    entries = list(cache.iterdir())
    assert entries and all(json.loads(p.read_text("utf-8"))["schema"] for p in entries)
    for p in entries:  # an attacker who can write into the cache folder
        p.write_bytes(pickle.dumps(Payload(marker)))
        p.with_suffix(".pickle").write_bytes(pickle.dumps(Payload(marker)))
    again = api.run(corpus, nlp, cache=cache)
    assert not marker.exists()
    assert again.cached == 0 and [e.to_gold() for e in again.extractions] == [e.to_gold() for e in first.extractions]


BAD_ENTRIES = [
    "",                                          # empty
    '{"schema": 1, "extraction": ',              # cut short
    "[]",                                        # not an object
    '{"schema": 999, "extraction": {}}',         # another schema version
    '{"schema": 1, "extraction": {"article": {"offsets": "x"}}}',
]


@pytest.mark.parametrize("bad", BAD_ENTRIES + ["wrong-types"])
def test_issue10_malformed_entry_is_a_miss(tmp_path, nlp, bad):
    corpus, cache = tmp_path / "corpus", tmp_path / "cache"
    corpus.mkdir()
    write(corpus, "a.txt", "区财政局党组书记、局长张志远出席会议。")
    api.run(corpus, nlp, cache=cache)
    [entry] = cache.glob("*.json")
    if bad == "wrong-types":  # valid JSON, valid schema number, a name that is a number
        data = json.loads(entry.read_text("utf-8"))
        data["extraction"]["entities"][0]["name"] = 5
        bad = json.dumps(data)
    entry.write_text(bad, encoding="utf-8")
    again = api.run(corpus, nlp, cache=cache)
    assert again.cached == 0 and not again.failures
    assert {e.name for ex in again.extractions for e in ex.entities} >= {"张志远"}


def test_issue10_cache_round_trip_is_exact(extract_text):
    from kg import cache as kc
    ex = extract_text("区财政局党组书记、局长张志远出席会议。\n本报讯（记者 王雪）区商务局副局长刘海涛介绍情况。")
    assert kc.load(kc.dump(ex)) == ex
