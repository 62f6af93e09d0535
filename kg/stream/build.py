"""The whole build in bounded memory, stage by stage with timings.

    report = build(corpus, out)             # extract -> OUT/.records -> merge -> exports
    report = export(records_dir, out)       # merge + exports only: graph.ttl, entities.csv,
                                            # relations.csv, graph.graphml, graph.html

Memory holds the entity table (the vocabulary), one merge partition and the HTML's few thousand
nodes; everything proportional to the corpus stays on disk.
"""
from __future__ import annotations

import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kg import publish
from kg.export import html
from kg.stream.merge import EntityTable, first_keys, merged, n_parts, resolve, spill
from kg.stream.records import RecordError, partitions, read_group
from kg.stream.write import Chunks, article_triples, assemble, chunk_path, node_triples, turtle_chunk


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
    peak_mb: dict[str, float] = field(default_factory=dict)  # this process's peak RSS at the end of each stage

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0
            self.peak_mb[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


Map = Callable[..., list]  # map(fn, items, **shared) -> [fn(*item, **shared) for item in items]


def local_map(fn: Callable, items: Iterable[tuple], **shared) -> list:
    return [fn(*item, **shared) for item in items]


def process_map(jobs: int) -> Map:
    """`map` over `jobs` worker processes (the merge tasks are CPU-bound Python)."""
    def run(fn: Callable, items: Iterable[tuple], **shared) -> list:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor
        from functools import partial
        items = list(items)
        if len(items) < 2:
            return local_map(fn, items, **shared)
        with ProcessPoolExecutor(min(jobs, len(items)), mp_context=mp.get_context("spawn")) as pool:
            return list(pool.map(_star, [(partial(fn, **shared), item) for item in items]))
    return run


def _star(call: tuple[Callable, tuple]):
    fn, item = call
    return fn(*item)


def record_groups(records: Path, group_bytes: int = 64 << 20) -> list[list[Path]]:
    """Consecutive record partitions of about `group_bytes` together: the unit of the merge's map side."""
    groups: list[list[Path]] = [[]]
    size = 0
    for part in partitions(records):
        if groups[-1] and size >= group_bytes:
            groups.append([])
            size = 0
        groups[-1].append(part)
        size += part.stat().st_size
    return groups if groups[0] else []


def firsts_task(paths: list[Path], group: int) -> tuple[int, dict, str, str]:
    """(articles, first occurrence of each entity key, first and last doc id) of one group."""
    ends: list[str] = []

    def docs(records: Iterator[dict]) -> Iterator[dict]:
        for record in records:
            ends[len(ends) > 0:] = [record["doc"]]   # keep the first, replace the last
            yield record
    n, firsts = first_keys(docs(read_group(paths)), group)
    return n, firsts, ends[0] if ends else "", ends[-1] if ends else ""


def spill_task(paths: list[Path], group: int, table: EntityTable, work: Path, parts: int) -> int:
    """One group: its facts to every merge partition, and its articles' Turtle piece (triples written)."""
    records = spill(table, read_group(paths), group, work, parts)
    return turtle_chunk((article_triples(r, table) for r in records), chunk_path(work, "articles.ttl", group))


def reduce_task(part: int, table: EntityTable, work: Path, groups: int) -> tuple[int, int, int, dict[int, int]]:
    """One merge partition: its pieces of every output; (triples, nodes, edges, degree by rank)."""
    chunks = Chunks(table, work, part)

    def triples() -> Iterator[list[str]]:
        for node, edges in merged(table, work, part, groups):
            chunks.add(node, edges)
            yield node_triples(node, edges, table)
    try:
        count = turtle_chunk(triples(), chunk_path(work, "nodes.ttl", part))
    finally:
        chunks.close()
    return count, chunks.nodes, chunks.edges, chunks.degree


def export(records: Path, out: Path, title: str = "zhkg", html_max_nodes: int = html.MAX_NODES,
           work: Path | None = None, report: Report | None = None, articles_per_part: int = 2000,
           group_bytes: int = 64 << 20, map: Map = local_map) -> Report:
    """Merge the record partitions under `records` and write every export into `out`.

    Each stage is a list of independent tasks given to `map`: a plain loop here, Dask workers
    in kg.stream.cluster (which need `work` on a file system they share)."""
    report = report or Report()
    groups = record_groups(records, group_bytes)
    # outputs are published as one set with a manifest (kg/publish.py), as kg.api.build does;
    # the merge's scratch files live in the staging folder too, so a killed build leaves nothing
    with publish.staging(out) as stage:
        scratch = Path(tempfile.mkdtemp(prefix=".merge-", dir=work or stage))
        try:
            _merge(groups, stage, scratch, title, html_max_nodes, report, articles_per_part, map)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        with report.stage("publish"):
            publish.publish(stage, Path(out))
    return report


def _merge(groups: list[list[Path]], out: Path, scratch: Path, title: str, html_max_nodes: int, report: Report,
           articles_per_part: int, map: Map) -> None:
    """The merge's three stages of tasks, then the outputs joined into `out`."""
    with report.stage("resolve"):
        firsts = map(firsts_task, [(paths, g) for g, paths in enumerate(groups)])
        for (_, _, _, last), (_, _, first, _), paths in zip(firsts, firsts[1:], groups[1:]):
            if first and last and first < last:
                raise RecordError(f"{paths[0]}: {first!r} sorts before {last!r} of an earlier partition")
        table = resolve((n, f) for n, f, _, _ in firsts)
    report.articles, report.entities = table.articles, len(table)
    parts = n_parts(table, articles_per_part)
    with report.stage("spill + article triples"):
        report.triples += sum(map(spill_task, [(paths, g) for g, paths in enumerate(groups)],
                                  table=table, work=scratch, parts=parts))
    with report.stage("reduce + entity triples, CSV, GraphML"):
        degree: dict[int, int] = {}
        for triples, _nodes, edges, part_degree in map(reduce_task, [(k,) for k in range(parts)],
                                                       table=table, work=scratch, groups=len(groups)):
            report.triples += triples
            report.relations += edges
            for rank, d in part_degree.items():
                degree[rank] = degree.get(rank, 0) + d
    with report.stage("assemble + html"):
        assemble(out, scratch, len(groups), parts, degree, (len(table), report.relations), title, html_max_nodes)


def build(corpus: Path, out: Path, nlp=None, jobs: int = 1, cache: bool = True,
          max_bytes: int = 20_000_000, html_max_nodes: int = html.MAX_NODES, store: Path | None = None,
          per_part: int = 100, title: str | None = None, scheduler: str | None = None,
          pipeline: dict | None = None, follow_symlinks: bool = False) -> Report:
    """Extract every article under `corpus` into record partitions (OUT/.records), merge, export.

    Extraction runs as one task per `per_part` files: in this process (jobs=1, with `nlp` if
    given), in `jobs` worker processes that each build the pipeline once, or on a Dask cluster
    (`scheduler`: an address, or "local" for a LocalCluster of `jobs` workers), which also runs
    the merge. Unchanged partitions are reused and unchanged articles come from the cache
    (OUT/.cache), so a rebuild after a small change costs little more than the merge.
    `pipeline` holds kg.nlp.build's arguments for the workers (default: those `nlp` was built with)."""
    from kg.stream import extract
    report = Report()
    out = Path(out).resolve() if scheduler else Path(out)  # workers may start elsewhere
    records = out / ".records"
    args = pipeline if pipeline is not None else nlp.meta.get("kg_build", {}) if nlp is not None else {}
    tasks = extract.plan(Path(corpus).resolve() if scheduler else corpus, records, args,
                         out / ".cache" if cache else None, per_part, max_bytes, follow_symlinks)
    records.mkdir(parents=True, exist_ok=True)
    with _runner(scheduler, jobs) as map:
        with report.stage("extract"):
            if map is not None:
                results = map(extract.run_task, [(t,) for t in tasks])
            elif jobs > 1:
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
            export(records, out, title or f"zhkg — {Path(corpus).name}", html_max_nodes, report=report,
                   map=map or (process_map(jobs) if jobs > 1 else local_map))
    if store is not None:
        from kg.sparql.store import load_store
        with report.stage("store"):
            load_store(out / "graph.ttl", store)
    return report


@contextmanager
def _runner(scheduler: str | None, jobs: int) -> Iterator[Map | None]:
    if scheduler is None:
        yield None
        return
    from kg.stream import cluster
    with cluster.connect(scheduler, max(1, jobs)) as client:
        yield cluster.mapper(client)


def _in_processes(tasks: list, jobs: int) -> list:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from kg.stream.extract import run_task
    # tasks are small (file names): all of them may be queued at once
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        return list(pool.map(run_task, tasks))
