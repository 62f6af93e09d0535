"""kg.stream: the bounded-memory merge and exports give what the in-memory build gives."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import networkx as nx
import pyoxigraph as ox
import pytest

from kg import api, graph, publish
from kg.export import files
from kg.stream.build import export
from kg.stream.records import RecordError, partitions, read_records, to_record, write_records

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "examples" / "corpus"
sys.path.insert(0, str(ROOT / "benchmarks"))
import synth  # noqa: E402

OUTPUTS = ("graph.ttl", "entities.csv", "relations.csv", "graph.graphml", "graph.html")


def triples(path: Path) -> set[str]:
    return {str(t) for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)}


def in_memory_build(extractions, out: Path) -> None:
    """Today's path: graph.merge -> rdflib / networkx -> kg.export.files."""
    kgraph = graph.merge(extractions)
    files.write_turtle(graph.to_rdf(kgraph), out / "graph.ttl")
    files.write_csvs(kgraph, out / "entities.csv", out / "relations.csv")
    files.write_graphml(graph.to_networkx(kgraph), out / "graph.graphml")


def read_graphml(path: Path) -> tuple[dict, list]:
    g = nx.read_graphml(path, force_multigraph=True, edge_key_type=str)
    return dict(g.nodes(data=True)), sorted(g.edges(keys=True, data=True))


def assert_same_build(new: Path, old: Path) -> None:
    a, b = triples(new / "graph.ttl"), triples(old / "graph.ttl")
    assert a == b, f"only streamed: {sorted(a - b)[:3]}; only in memory: {sorted(b - a)[:3]}"
    for name in ("entities.csv", "relations.csv"):
        assert (new / name).read_bytes() == (old / name).read_bytes(), name
    assert read_graphml(new / "graph.graphml") == read_graphml(old / "graph.graphml")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> tuple[list, Path]:
    """150 synthetic articles' extractions and their records in partitions of 40."""
    exs = list(synth.extractions(150))
    records = tmp_path_factory.mktemp("records")
    write_records(exs, records, per_part=40)
    return exs, records


def test_streamed_build_equals_in_memory_build(synthetic, tmp_path):
    exs, records = synthetic
    # the articles have relative names (区委) to qualify by their place, and some they cannot
    forms = [(e.name, m) for ex in exs for e, m in zip(ex.entities, graph.merge_names(ex))]
    assert any(m.label != name for name, m in forms) and any("@" in m.key for _, m in forms)
    # small merge partitions (15), so a node's edges and their tails fall in other partitions
    report = export(records, tmp_path / "new", articles_per_part=10)
    in_memory_build(exs, tmp_path / "old")
    assert_same_build(tmp_path / "new", tmp_path / "old")
    assert report.articles == 150 and report.entities == len(graph.merge(exs).nodes)


def test_same_records_give_the_same_bytes_whatever_the_partitioning(synthetic, tmp_path):
    exs, records = synthetic
    export(records, tmp_path / "a", articles_per_part=10)
    write_records(exs, tmp_path / "records", per_part=1)
    export(tmp_path / "records", tmp_path / "b", articles_per_part=100_000, group_bytes=1)  # 1 article a group
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_sample_corpus_same_triples_and_valid(nlp, tmp_path):
    from kg.validate import validate
    run = api.run(CORPUS, nlp)
    write_records(run.extractions, tmp_path / "records")
    export(tmp_path / "records", tmp_path / "new")
    in_memory_build(run.extractions, tmp_path / "old")
    assert_same_build(tmp_path / "new", tmp_path / "old")
    report = validate(tmp_path / "new" / "graph.ttl")   # also checks the manifest of the published set
    assert report.conforms, report.violations[:3]


def test_records_hold_no_per_character_offsets(nlp):
    run = api.run(sorted(CORPUS.glob("*.txt"))[0], nlp)
    ex = run.extractions[0]
    record = to_record(ex)
    size = len(json.dumps(record, ensure_ascii=False).encode())
    assert len(ex.article.offsets) == len(ex.article.text) > 3000
    assert size < 5 * len(ex.article.text.encode()), size   # entities, mentions, sentences only
    # a mention's offsets are in the original file, as kg.graph.to_rdf writes them
    etype, name, _aliases, _conf, mentions, *_merge = record["ents"][0]
    start, end, _ev = mentions[0]
    original = (CORPUS / ex.article.doc_id).read_text(encoding="utf-8")
    assert original[start:end].replace("\n", "") .replace(" ", "").replace("\u3000", "") == name.replace(" ", "")


def test_html_overview_is_capped_and_says_so(synthetic, tmp_path):
    _, records = synthetic
    report = export(records, tmp_path, html_max_nodes=40)
    page = (tmp_path / "graph.html").read_text(encoding="utf-8")
    data = json.loads(page.split("const DATA = ", 1)[1].split(";\n", 1)[0])
    assert len(data["nodes"]) == 40 < report.entities
    assert data["meta"]["cap"]["total_nodes"] == report.entities
    assert data["meta"]["cap"]["total_edges"] == report.relations
    # the most connected: every node shown has at least the degree of any node left out
    g = nx.read_graphml(tmp_path / "graph.graphml", force_multigraph=True)
    shown = {n["id"] for n in data["nodes"]}
    assert min(g.degree(v) for v in shown) >= max(g.degree(v) for v in g if v not in shown)
    ids = {n["id"] for n in data["nodes"]}
    assert all(e["from"] in ids and e["to"] in ids for e in data["edges"])


def test_unreadable_records_are_named(synthetic, tmp_path):
    _, records = synthetic
    bad = tmp_path / "records"
    bad.mkdir()
    part = partitions(records)[0]
    (bad / part.name).write_text(part.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    with pytest.raises(RecordError, match=rf"{part.name}:41: not a record"):
        list(read_records(bad))
    # partitions out of doc-id order
    parts = partitions(records)
    (bad / parts[0].name).write_bytes(parts[1].read_bytes())
    (bad / parts[1].name).write_bytes(parts[0].read_bytes())
    with pytest.raises(RecordError, match="sorts before"):
        list(read_records(bad))


def test_a_failed_export_keeps_the_previous_outputs(synthetic, tmp_path, monkeypatch):
    from kg.stream import write
    _, records = synthetic
    export(records, tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in OUTPUTS}

    def broken(self, node, edges):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(write.Chunks, "add", broken)
    with pytest.raises(OSError):
        export(records, tmp_path, title="another title")
    assert {name: (tmp_path / name).read_bytes() for name in OUTPUTS} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*OUTPUTS, "manifest.json"])
    publish.verify(tmp_path / "graph.ttl")  # the published set is still whole


# --- the whole build -------------------------------------------------------------------------

@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for f in sorted(CORPUS.glob("*.txt")):
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "empty.txt").write_text("", encoding="utf-8")
    return folder


def test_build_then_rebuild_after_one_change(nlp, corpus, tmp_path):
    from kg.stream.build import build
    out = tmp_path / "out"
    first = build(corpus, out, nlp, per_part=1)
    assert (first.articles, first.reused, first.cached) == (3, 0, 0)
    assert [(Path(f.path).name, f.reason) for f in first.failures] == [("empty.txt", "empty file")]
    in_memory_build(api.run(corpus, nlp).extractions, tmp_path / "old")
    assert_same_build(out, tmp_path / "old")

    changed = sorted(corpus.glob("0*.txt"))[1]
    changed.write_text(changed.read_text(encoding="utf-8") + "\n区商务局局长林海峰出席。\n", encoding="utf-8")
    again = build(corpus, out, nlp, per_part=1)
    assert (again.articles, again.reused, again.cached) == (3, 3, 0)  # 3 of 4 partitions untouched
    assert [Path(f.path).name for f in again.failures] == ["empty.txt"]
    build(corpus, tmp_path / "fresh", nlp, per_part=1, cache=False)
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name
    assert "林海峰" in (out / "entities.csv").read_text(encoding="utf-8")


def test_worker_processes_build_the_same_bytes(nlp, corpus, tmp_path):
    from kg.stream.build import build
    one = build(corpus, tmp_path / "one", nlp)
    two = build(corpus, tmp_path / "two", jobs=2)   # a partition for each worker, whatever per_part
    assert len(list((tmp_path / "two" / ".records").glob("*.jsonl"))) == 2
    assert (two.articles, two.entities, two.relations, two.triples) == (one.articles, one.entities, one.relations,
                                                                         one.triples)
    assert [Path(f.path).name for f in two.failures] == ["empty.txt"]
    for name in OUTPUTS:
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name


def test_local_dask_cluster_build_is_byte_identical(nlp, corpus, tmp_path):
    pytest.importorskip("dask.distributed")
    from kg.stream.build import build
    one = build(corpus, tmp_path / "one", nlp, per_part=1)
    two = build(corpus, tmp_path / "two", scheduler="local", jobs=2, per_part=1)
    assert (two.articles, two.entities, two.relations, two.triples) == (one.articles, one.entities, one.relations,
                                                                         one.triples)
    assert [Path(f.path).name for f in two.failures] == ["empty.txt"]
    for name in OUTPUTS:
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name


def test_cli_unreachable_scheduler_is_a_usage_error(corpus, tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    from kg import cli
    code = cli.main(["build", str(corpus), "--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9"])
    assert code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err


def test_a_hub_keeps_its_first_sources_and_counts_them_all(synthetic, tmp_path):
    from kg.stream.build import firsts_task, spill_task
    from kg.stream.merge import merged, resolve
    exs, records = synthetic
    groups = [[p] for p in partitions(records)]
    table = resolve(firsts_task(paths, g)[:2] for g, paths in enumerate(groups))
    for g, paths in enumerate(groups):
        spill_task(paths, g, table, tmp_path, 1)
    want = graph.to_networkx(graph.merge(exs))
    hubs = 0
    for node, _edges in merged(table, tmp_path, 0, len(groups), keep_sources=5):
        sources = [(s["doc"], s["sentence"]) for s in want.nodes[node.iri]["sources"]]
        assert (node.sources, node.sources_total) == (sources[:5], len(sources))
        hubs += len(sources) > 5
    assert hubs > 10


NASTY = 'a "quoted" \\back\\slash\nnew line\ttab\r\x0b\u2028 <b>&amp; 中文'


def test_odd_characters_reach_the_turtle_intact(tmp_path):
    from dataclasses import replace
    exs = list(synth.extractions(12))
    ex = exs[3]
    ex.article = replace(ex.article, title=NASTY)
    entity = ex.entities[2]
    entity.aliases.append(NASTY)
    entity.mentions[0] = replace(entity.mentions[0], evidence=replace(entity.mentions[0].evidence, sentence=NASTY))
    write_records(exs, tmp_path / "records")
    export(tmp_path / "records", tmp_path / "new")
    in_memory_build(exs, tmp_path / "old")
    assert_same_build(tmp_path / "new", tmp_path / "old")
    titles = [t.object.value for t in ox.parse(path=str(tmp_path / "new" / "graph.ttl"), format=ox.RdfFormat.TURTLE)
              if t.predicate.value.endswith("/title")]
    assert NASTY in titles


def test_synthetic_news_is_readable_and_invents_its_names(tmp_path):
    from kg.ingest import read_article
    world = synth.make_world(30)   # the cast of synth.articles(30)
    sample = "".join(f.read_text(encoding="utf-8") for f in CORPUS.glob("*.txt"))
    for cast in (world, synth.make_world(100_000)):
        names = cast.people + cast.firms + cast.projects + [d for d, _, _ in cast.districts] + cast.cities
        assert not [n for n in names if n in sample]
    texts = []
    for name, text in synth.articles(30):
        (tmp_path / name).write_text(text, encoding="utf-8")
        article = read_article(tmp_path / name)   # the column layout is undone
        assert article.reporters and article.title and len(article.text) > 2000
        texts.append(article.text)
    # the same leaders come back across articles, as in a local paper
    counts = sorted((sum(p in t for t in texts) for p in world.people), reverse=True)
    assert counts[0] >= 5


def test_forked_workers_use_the_loaded_pipeline(corpus, tmp_path, monkeypatch):
    """With fork, --jobs workers inherit the parent's loaded pipeline instead of building their
    own (~2 CPU s each); spawned workers (macOS, Windows) give the same bytes."""
    import kg.nlp
    from kg.stream import build as stream_build
    if stream_build._FORK is None:
        pytest.skip("no fork on this platform")
    calls = tmp_path / "builds.txt"
    real = kg.nlp.build

    def counted(*args, **kwargs):
        with calls.open("a") as f:  # a forked worker appends here too
            f.write(f"{os.getpid()}\n")
        return real(*args, **kwargs)
    monkeypatch.setattr(kg.nlp, "build", counted)
    forked = stream_build.build(corpus, tmp_path / "forked", jobs=2)
    assert len(list((tmp_path / "forked" / ".records").glob("*.jsonl"))) == 2
    assert calls.read_text().split() == [str(os.getpid())]  # built once, here
    monkeypatch.setattr(stream_build, "_FORK", None)
    spawned = stream_build.build(corpus, tmp_path / "spawned", jobs=2)
    assert (spawned.entities, spawned.relations) == (forked.entities, forked.relations)
    for name in OUTPUTS:
        assert (tmp_path / "spawned" / name).read_bytes() == (tmp_path / "forked" / name).read_bytes(), name
