"""Incremental builds: only changed articles are re-extracted; removed articles leave the graph."""
from __future__ import annotations

import shutil
from pathlib import Path

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
    assert len(list(cache.glob("*.pickle"))) == 2
    (corpus / "b.txt").unlink()
    result = api.run(corpus, nlp, cache=cache)
    names = {e.name for ex in result.extractions for e in ex.entities}
    assert "张志远" in names and "刘海涛" not in names
    assert len(list(cache.glob("*.pickle"))) == 1


def test_pipeline_change_misses_the_cache(tmp_path, nlp):
    from kg.cache import ExtractionCache

    corpus, cache = tmp_path / "corpus", tmp_path / "cache"
    corpus.mkdir()
    write(corpus, "a.txt", "区财政局党组书记、局长张志远出席会议。")
    ex = api.run(corpus, nlp, cache=cache).extractions[0]
    assert ExtractionCache(cache, "another pipeline").get(ex.article) is None
