"""The library entry point: worker processes give the same extractions as one process; build
(the streamed one, kg.stream.build) reports what it did and refuses bad arguments before writing
anything; the in-memory library export writes the graph the build writes."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from kg import api

CORPUS = Path(__file__).resolve().parents[1] / "examples" / "corpus"


def test_worker_processes_extract_the_same_facts(tmp_path, nlp):
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    for f in sorted(CORPUS.glob("*.txt"))[:2]:
        (tmp_path / f.name).write_bytes(f.read_bytes())
    one = api.run(tmp_path, nlp)
    two = api.run(tmp_path, nlp, n_process=2)
    assert [e.to_gold() for e in two.extractions] == [e.to_gold() for e in one.extractions]
    assert [f.path for f in two.failures] == [f.path for f in one.failures] == [str(tmp_path / "empty.txt")]


def test_build_reports_counts_timings_files_and_failures(tmp_path, nlp):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_text("", encoding="utf-8")
    for f in sorted(CORPUS.glob("*.txt"))[:2]:
        (corpus / f.name).write_bytes(f.read_bytes())
    report = api.build(corpus, tmp_path / "out", nlp=nlp)
    assert report.articles == 2 and report.cached == 0
    assert report.entities > 0 and report.relations > 0 and report.triples > report.entities
    assert [f.path for f in report.failures] == [str(corpus / "empty.txt")]
    assert {p.name for p in report.files} == {"graph.ttl", "graph.graphml", "entities.csv", "relations.csv",
                                               "graph.html"}
    assert all(p.is_file() for p in report.files)
    assert list(report.seconds)[:2] == ["load", "extract"] and list(report.seconds)[-1] == "publish"
    assert all(s >= 0 for s in report.seconds.values()) and report.peak_mb.keys() == report.seconds.keys()
    # another format set: the records are reused, nothing is extracted again
    again = api.build(corpus, tmp_path / "out", nlp=nlp, formats=["csv"])
    assert again.reused == 1 and [p.name for p in again.files] == ["entities.csv", "relations.csv"]
    assert (again.articles, again.entities, again.relations) == (report.articles, report.entities, report.relations)
    # the library's in-memory export of the same extractions writes the same files
    lib = api.export(api.run(corpus, nlp).extractions, tmp_path / "lib", formats=["csv"])
    assert (lib.entities, lib.relations, lib.triples) == (report.entities, report.relations, report.triples)
    for name in ("entities.csv", "relations.csv"):
        assert (tmp_path / "lib" / name).read_bytes() == (tmp_path / "out" / name).read_bytes(), name


@pytest.mark.parametrize("kwargs,message", [
    ({"corpus": Path("/nonexistent/corpus")}, "no such file or folder"),
    ({"formats": ["pdf"]}, "unknown export format(s) pdf"),
    ({"formats": ["csv"], "store": Path("store")}, "keep the turtle export"),
    ({"nlp": None, "segmenter": "nope"}, "unknown segmenter"),
])
def test_build_refuses_bad_arguments_before_writing(tmp_path, nlp, kwargs, message):
    with pytest.raises(api.BuildError, match=re.escape(message)):
        api.build(**{"corpus": CORPUS, "out": tmp_path / "out", "nlp": nlp, **kwargs})
    assert not (tmp_path / "out" / "graph.ttl").exists()
