"""The build, the one path behind `kg build` and kg.api.build, stage by stage with timings.

    report = build(corpus, out)             # extract -> OUT/.records -> merge -> exports
    report = export(records_dir, out)       # merge + exports only: graph.ttl, entities.csv,
                                            # relations.csv, graph.graphml, graph.html

Memory holds the entity table (the vocabulary), one merge partition and the HTML's few thousand
nodes; everything proportional to the corpus stays on disk.
"""
from __future__ import annotations

import multiprocessing as mp
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from spacy.language import Language

from kg import nlp as kg_nlp
from kg import publish
from kg.api import BuildError, BuildReport, Failure
from kg.export import html
from kg.ingest import IngestError
from kg.stream.merge import EntityTable, first_keys, merged, n_parts, resolve, spill
from kg.stream.records import RecordError, partitions, read_group
from kg.stream.write import Chunks, article_triples, assemble, chunk_path, node_triples, turtle_chunk

# the outputs by format name (as kg.export's exporters are named), in the order they are written
OUTPUTS = {"turtle": ("graph.ttl",), "csv": ("entities.csv", "relations.csv"), "graphml": ("graph.graphml",),
           "html": ("graph.html",)}


FOLD = 8  # record groups whose first occurrences are resolved together
Map = Callable[..., list]  # map(fn, items, **shared) -> [fn(*item, **shared) for item in items]


# Extraction workers fork on Linux (the parent runs no threads of its own by then; BLAS's pool
# has fork handlers); elsewhere fork is unsafe (macOS) or missing (Windows): they are spawned
_FORK = mp.get_context("fork") if sys.platform.startswith("linux") else None


def local_map(fn: Callable, items: Iterable[tuple], **shared) -> list:
    return [fn(*item, **shared) for item in items]


def process_map(jobs: int) -> Map:
    """`map` over `jobs` worker processes (the merge tasks are CPU-bound Python)."""
    def run(fn: Callable, items: Iterable[tuple], **shared) -> list:
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
           work: Path | None = None, report: BuildReport | None = None, articles_per_part: int = 2000,
           group_bytes: int = 64 << 20, map: Map = local_map, formats: Sequence[str] | None = None) -> BuildReport:
    """Merge the record partitions under `records` and write the outputs of `formats` (default: all
    of OUTPUTS) into `out`.

    Each stage is a list of independent tasks given to `map`: a plain loop here, Dask workers
    in kg.stream.cluster (which need `work` on a file system they share)."""
    report = report or BuildReport(Path(out))
    groups = record_groups(records, group_bytes)
    # outputs are published as one set with a manifest (kg/publish.py); the merge's scratch
    # files live in the staging folder too, so a killed build leaves nothing
    with publish.staging(out) as stage:
        scratch = Path(tempfile.mkdtemp(prefix=".merge-", dir=work or stage))
        try:
            _merge(groups, stage, scratch, title, html_max_nodes, report, articles_per_part, map)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        for name in set(OUTPUTS) - set(formats or OUTPUTS):
            for file in OUTPUTS[name]:
                (stage / file).unlink()
        with report.stage("publish"):
            report.files += publish.publish(stage, Path(out))
    return report


def _merge(groups: list[list[Path]], out: Path, scratch: Path, title: str, html_max_nodes: int, report: BuildReport,
           articles_per_part: int, map: Map) -> None:
    """The merge's three stages of tasks, then the outputs joined into `out`."""
    with report.stage("resolve"):
        ends: list[tuple[str, str]] = []

        def firsts() -> Iterator[tuple[int, dict]]:
            # a few groups at a time: each group's first occurrences hold much of the vocabulary,
            # and all of them at once took GBs at 10^6 articles
            items = [(paths, g) for g, paths in enumerate(groups)]
            for k in range(0, len(items), FOLD):
                for n, f, first, last in map(firsts_task, items[k:k + FOLD]):
                    ends.append((first, last))
                    yield n, f
        table = resolve(firsts())
        for (_, last), (first, _), paths in zip(ends, ends[1:], groups[1:]):
            if first and last and first < last:
                raise RecordError(f"{paths[0]}: {first!r} sorts before {last!r} of an earlier partition")
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


def build(corpus: Path, out: Path, nlp: Language | None = None, *, pipeline: dict[str, Any] | None = None,
          jobs: int = 1, cache: bool = True, max_bytes: int = 20_000_000, html_max_nodes: int = html.MAX_NODES,
          store: Path | None = None, formats: Sequence[str] | None = None, per_part: int = 100,
          title: str | None = None, scheduler: str | None = None, follow_symlinks: bool = False,
          progress: Callable[[Iterable], Iterable] | None = None) -> BuildReport:
    """Extract every article under `corpus` into record partitions (OUT/.records), merge, export.

    Extraction runs as one task per `per_part` files: in this process (jobs=1, with `nlp`, else
    the pipeline `pipeline` describes: kg.nlp.build's arguments), in `jobs` worker processes that
    each build the pipeline once, or on a Dask cluster (`scheduler`: an address, or "local" for a
    LocalCluster of `jobs` workers), which also runs the merge. Unchanged partitions are reused and
    unchanged articles come from the cache (OUT/.cache), so a rebuild after a small change costs
    little more than the merge. `progress` wraps the stream of finished extraction tasks.
    Bad arguments raise BuildError before anything is extracted (see kg.api.build)."""
    from kg.stream import extract
    corpus, out = Path(corpus), Path(out)
    _check(corpus, out, formats, store)
    report = BuildReport(out)
    args = nlp.meta.get("kg_build", {}) if nlp is not None else pipeline or {}
    in_process = scheduler is None and jobs == 1
    # local workers are forked from this process once it holds the loaded pipeline (where fork
    # exists): each would otherwise spend ~2 CPU s importing and loading it again
    here = in_process or (scheduler is None and _FORK is not None)
    with report.stage("load"):
        try:
            if nlp is None and here:
                nlp = kg_nlp.build(**args)
            elif nlp is None:  # workers build the pipeline: here only its arguments are checked
                kg_nlp.check(**args)
            if here and nlp is not None:
                kg_nlp.warm(nlp)
        except (ValueError, OSError) as err:
            raise BuildError(str(err)) from err
    if scheduler:  # workers may start elsewhere
        corpus, out = corpus.resolve(), out.resolve()
    records = out / ".records"
    try:
        tasks = extract.plan(corpus, records, args, out / ".cache" if cache else None, per_part, max_bytes,
                             follow_symlinks, workers=1 if in_process else jobs)
    except IngestError as err:  # a folder without articles: nothing to read at all
        report.failures.append(Failure(str(err.path), err.reason))
        return report
    records.mkdir(parents=True, exist_ok=True)
    wrap = progress or (lambda items: items)
    with _runner(scheduler, jobs) as map:
        with report.stage("extract"), kg_nlp.frozen():
            if map is not None:
                results = map(extract.run_task, [(t,) for t in tasks])
            elif jobs > 1:
                results = list(wrap(_in_processes(tasks, jobs, args, nlp)))
            else:
                results = list(wrap(extract.run_task(t, nlp) for t in tasks))
        extract.remove_stale(records, len(tasks))
        if cache:
            extract.prune_cache(out / ".cache", results)
        report.failures = [f for r in results for f in r.failures]
        report.cached = sum(r.cached for r in results)
        report.reused = sum(r.reused for r in results)
        if sum(r.articles for r in results):
            export(records, out, title or f"zhkg — {corpus.name}", html_max_nodes, report=report,
                   map=map or (process_map(jobs) if jobs > 1 else local_map), formats=formats)
    if store is not None and report.files:
        from kg.sparql.store import StoreError, load_store
        with report.stage("store"):
            try:
                report.store_triples = load_store(out / "graph.ttl", store)
            except StoreError as err:
                raise BuildError(str(err)) from err
    return report


def _check(corpus: Path, out: Path, formats: Sequence[str] | None, store: Path | None) -> None:
    """Bad arguments, before the (long) extraction; the last check creates `out`."""
    if not corpus.exists():
        raise BuildError(f"{corpus}: no such file or folder")
    unknown = [f for f in formats or () if f not in OUTPUTS]
    if unknown:
        raise BuildError(f"unknown export format(s) {', '.join(unknown)}: choose from {', '.join(OUTPUTS)}")
    if store is not None:
        from kg.sparql.store import StoreError, check_target
        if formats is not None and "turtle" not in formats:
            raise BuildError("the store is loaded from graph.ttl: keep the turtle export")
        try:
            check_target(store)
        except StoreError as err:
            raise BuildError(str(err)) from err
    try:
        publish.ready(out)
    except publish.OutputError as err:
        raise BuildError(str(err)) from err


@contextmanager
def _runner(scheduler: str | None, jobs: int) -> Iterator[Map | None]:
    if scheduler is None:
        yield None
        return
    from kg.stream import cluster
    with cluster.connect(scheduler, max(1, jobs)) as client:
        yield cluster.mapper(client)


def _in_processes(tasks: list, jobs: int, args: dict[str, Any], nlp: Language | None) -> Iterator:
    from concurrent.futures import ProcessPoolExecutor

    from kg.stream import extract
    # tasks are small (file names): all of them may be queued at once. Forked workers inherit
    # `nlp` (initargs are not pickled under fork); spawned ones build the pipeline per process.
    context = _FORK or mp.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=extract.use_pipeline,
                             initargs=(args, nlp if context is _FORK else None)) as pool:
        yield from pool.map(extract.run_task, tasks)
