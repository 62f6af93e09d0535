"""Merge and exports from record partitions, in bounded memory, stage by stage with timings.

    report = export(records_dir, out)       # graph.ttl, entities.csv, relations.csv, graph.graphml, graph.html

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
                for sink in sinks[:-1]:
                    sink.close()
            with report.stage("html"):
                sinks[-1].close()

        write_turtle(triples(), out / "graph.ttl")
    finally:
        spill.remove()
    return report
