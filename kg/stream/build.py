"""The whole build in bounded memory, stage by stage with timings.

    report = build(corpus, out)             # extract -> OUT/.records -> merge -> exports
    report = export(records_dir, out)       # merge + exports only: graph.ttl, entities.csv,
                                            # relations.csv, graph.graphml, graph.html

Memory holds the entity table (the vocabulary), one merge partition and the HTML's few thousand
nodes; everything proportional to the corpus stays on disk.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyoxigraph as ox

from kg.export import html
from kg.stream.merge import Spill, resolve
from kg.stream.records import read_records
from kg.stream.write import (CsvSink, GraphmlSink, HtmlSink, Sink, article_triples, node_triples,
                             write_turtle)


@dataclass
class Report:
    articles: int = 0
    entities: int = 0
    relations: int = 0
    triples: int = 0
    cached: int = 0                  # articles taken from the extraction cache
    reused: int = 0                  # record partitions reused without reading their files
    failures: list = field(default_factory=list)   # kg.api.Failure
    seconds: dict[str, float] = field(default_factory=dict)  # per stage

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0


def export(records: Path, out: Path, title: str = "zhkg", html_max_nodes: int = html.MAX_NODES,
           work: Path | None = None, report: Report | None = None, articles_per_part: int = 2000) -> Report:
    """Merge the record partitions under `records` and write every export into `out`."""
    report = report or Report()
    out.mkdir(parents=True, exist_ok=True)
    with report.stage("resolve"):
        table = resolve(read_records(records))
    report.articles, report.entities = table.articles, len(table)
    spill = Spill(table, work or out, articles_per_part)
    sinks: list[Sink] = []
    try:
        def triples() -> Iterator[ox.Triple]:
            with report.stage("spill + article triples"):
                for seq, record in enumerate(read_records(records)):
                    spill.add(seq, record)
                    batch = article_triples(record, table)
                    report.triples += len(batch)
                    yield from batch
                spill.close()
            with report.stage("reduce + entity triples, CSV, GraphML"):
                sinks.extend([CsvSink(out / "entities.csv", out / "relations.csv", table),
                              GraphmlSink(out / "graph.graphml", table),
                              HtmlSink(out / "graph.html", table, title, html_max_nodes)])
                for node, edges in spill.merged():
                    report.relations += len(edges)
                    for sink in sinks:
                        sink.add(node, edges)
                    batch = node_triples(node, edges, table)
                    report.triples += len(batch)
                    yield from batch
                while len(sinks) > 1:
                    sinks.pop(0).close()
            with report.stage("html"):
                sinks.pop().close()

        write_turtle(triples(), out / "graph.ttl")
    finally:
        for sink in sinks:  # left open by a failure
            sink.abort()
        spill.remove()
    return report


def build(corpus: Path, out: Path, nlp=None, jobs: int = 1, cache: bool = True,
          max_bytes: int = 20_000_000, html_max_nodes: int = html.MAX_NODES, store: Path | None = None,
          per_part: int = 100, title: str | None = None) -> Report:
    """Extract every article under `corpus` into record partitions (OUT/.records), merge, export.

    Extraction runs as one task per `per_part` files: in this process (jobs=1, with `nlp` if
    given), or in `jobs` worker processes that each build the pipeline once. Unchanged partitions
    are reused and unchanged articles come from the cache (OUT/.cache), so a rebuild after a small
    change costs little more than the merge."""
    from kg.stream import extract
    report = Report()
    records = out / ".records"
    args = nlp.meta.get("kg_build", {}) if nlp is not None else {}
    tasks = extract.plan(corpus, records, args, out / ".cache" if cache else None, per_part, max_bytes)
    with report.stage("extract"):
        if jobs > 1:
            results = _in_processes(tasks, jobs)
        else:
            nlp = nlp or extract.pipeline(args)
            results = [extract.run_task(t, nlp) for t in tasks]
    extract.remove_stale(records, len(tasks))
    if cache:
        extract.prune_cache(out / ".cache", results)
    report.failures = [f for r in results for f in r.failures]
    report.cached = sum(r.cached for r in results)
    report.reused = sum(r.reused for r in results)
    if sum(r.articles for r in results):
        export(records, out, title or f"zhkg — {Path(corpus).name}", html_max_nodes, report=report)
    if store is not None:
        from kg.store import load_store
        with report.stage("store"):
            load_store(out / "graph.ttl", store)
    return report


def _in_processes(tasks: list, jobs: int) -> list:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # tasks are small (file names): all of them may be queued at once
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        from kg.stream.extract import run_task
        return list(pool.map(run_task, tasks))
