"""The library entry point: files -> Extractions (per article) -> merged graph -> exports.

    report = kg.api.build(Path("examples/corpus"), Path("output"))
    print(report.summary(), report.seconds, report.failures)

`build` is the one build path, kg.stream.build: extraction into record partitions on disk (with
cache and worker processes or a Dask cluster), a merge in bounded memory, streamed exports, an
optional SPARQL store. `run` extracts (kg extract, kg evaluate); `export` merges extractions held
in memory and writes them with the exporters of kg.export (small graphs, new formats). The CLI
(kg/cli.py) is a thin layer over these functions.
"""
from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from spacy.language import Language

from kg import nlp as kg_nlp
from kg import publish
from kg.extract import extract
from kg.ingest import IngestError, iter_articles, read_article
from kg.schema import Schema
from kg.schema import load as load_schema
from kg.types import Article, Extraction

if TYPE_CHECKING:
    from kg.export import Exporter


class BuildError(ValueError):
    """A bad argument to build (missing corpus, unknown exporter, unusable store…); the
    message names it. Nothing has been written when it is raised before extraction."""


@dataclass
class Failure:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class Run:
    extractions: list[Extraction] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


def load_articles(paths: Iterable[Path], failures: list[Failure], max_bytes: int = 20_000_000,
                  root: Path | None = None, follow_symlinks: bool = False) -> Iterator[Article]:
    """Decode each file (found in the corpus folder `root`, if any); a bad one is recorded with
    its reason and skipped, never fatal."""
    for path in paths:
        try:
            yield read_article(path, max_bytes=max_bytes, root=root, follow_symlinks=follow_symlinks)
        except IngestError as err:
            failures.append(Failure(str(path), err.reason))


def extract_articles(nlp: Language, articles: Iterable[Article], failures: list[Failure],
                     n_process: int = 1, batch_size: int = 8, schema: Schema | None = None) -> Iterator[Extraction]:
    """Extractions in input order. With n_process > 1, whole articles go to worker processes
    that each build the pipeline once: extraction is a pure function of one article, and
    only the Article and its (small) Extraction cross process boundaries."""
    articles = _fitting(nlp, articles, failures)
    if n_process > 1:
        yield from _extract_in_workers(nlp, articles, failures, n_process, schema)
        return
    stream = ((a.text, a) for a in articles)
    for doc, article in nlp.pipe(stream, as_tuples=True, batch_size=batch_size):
        try:
            yield extract(doc, article, schema)
        except Exception as err:  # one bad article must not sink the corpus
            failures.append(Failure(article.source, f"extraction failed: {type(err).__name__}: {err}"))


def _fitting(nlp: Language, articles: Iterable[Article], failures: list[Failure]) -> Iterator[Article]:
    """Articles the pipeline accepts: a longer one is a failure here, not spaCy's E088 raised
    inside nlp.pipe, which would end the whole run."""
    for a in articles:
        if len(a.text) > nlp.max_length:
            failures.append(Failure(a.source, f"{len(a.text):,} characters, over the pipeline's "
                                              f"limit of {nlp.max_length:,}"))
        else:
            yield a


_WORKER: list[tuple[Language, Schema | None]] = []


def _init_worker(build_args: dict, schema_path: Path | None) -> None:
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle (no traceback per worker)
    _WORKER.append((kg_nlp.build(**build_args), load_schema(schema_path) if schema_path else None))


def _extract_one(article: Article) -> Extraction | Failure:
    nlp, schema = _WORKER[0]
    try:
        return extract(nlp(article.text), article, schema)
    except Exception as err:
        return Failure(article.source, f"extraction failed: {type(err).__name__}: {err}")


def _extract_in_workers(nlp: Language, articles: Iterable[Article], failures: list[Failure],
                        n_process: int, schema: Schema | None) -> Iterator[Extraction]:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    build_args = nlp.meta.get("kg_build", {})
    with ProcessPoolExecutor(n_process, mp_context=mp.get_context("spawn"),
                             initializer=_init_worker, initargs=(build_args, schema.path if schema else None)) as pool:
        for result in pool.map(_extract_one, articles, chunksize=1):
            if isinstance(result, Failure):
                failures.append(result)
            else:
                yield result


def run(path: Path, nlp: Language | None = None, progress: Callable[[Iterable], Iterable] | None = None,
        n_process: int = 1, max_bytes: int = 20_000_000, schema: Schema | None = None,
        follow_symlinks: bool = False) -> Run:
    """Extract every article under `path` (a file or folder), in doc-id order. Symlinks out of
    the folder are failures unless `follow_symlinks`."""
    nlp = nlp or kg_nlp.build()
    result = Run()
    files = list(iter_articles(path))  # IngestError now for a folder without articles
    root = Path(path) if Path(path).is_dir() else None
    articles = load_articles(files, result.failures, max_bytes, root, follow_symlinks)
    result.extractions.extend((progress or (lambda x: x))(extract_articles(nlp, articles, result.failures, n_process,
                                                                            schema=schema)))
    result.extractions.sort(key=lambda ex: ex.article.doc_id)
    return result


@dataclass
class BuildReport:
    """What a build (or an export) did: counts, files written, seconds and peak memory per stage
    (in run order), failures."""
    out: Path
    articles: int = 0
    cached: int = 0          # articles whose extraction came from the cache
    reused: int = 0          # record partitions reused without reading their files
    entities: int = 0
    relations: int = 0
    triples: int = 0
    files: list[Path] = field(default_factory=list)
    store_triples: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    peak_mb: dict[str, float] = field(default_factory=dict)   # this process's peak RSS after each stage
    failures: list[Failure] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.articles} articles ({self.cached} from cache) -> {self.entities} entities, "
                f"{self.relations} relations, {self.triples} triples in {self.out}/")

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0
            self.peak_mb[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _exporters(formats: Sequence[str] | None) -> dict[str, Exporter]:
    from kg.export import exporters
    registry = exporters()
    unknown = [f for f in formats or () if f not in registry]
    if unknown:
        raise BuildError(f"unknown export format(s) {', '.join(unknown)}: choose from {', '.join(registry)}")
    return registry


def export(extractions: list[Extraction], out: Path, formats: Sequence[str] | None = None,
           schema: Schema | None = None, title: str = "zhkg", report: BuildReport | None = None,
           html_max_nodes: int = 2000) -> BuildReport:
    """Merge `extractions` into one graph and write it with each exporter named in `formats`
    (default: every one in kg.export). Entity and relation types are checked against `schema`
    (default: the ontology in use): an undeclared one raises kg.schema.SchemaError."""
    from kg import graph
    from kg.export import Views

    registry = _exporters(formats)
    schema = schema or load_schema()
    report = report or BuildReport(Path(out))
    with report.stage("merge"):
        kgraph = graph.merge(extractions)
    with report.stage("project"):
        views = Views(kgraph, graph.to_rdf(kgraph, schema), graph.to_networkx(kgraph), schema, title, html_max_nodes)
    with publish.staging(Path(out)) as stage:  # all files or none: see kg/publish.py
        for name in formats or registry:
            with report.stage(name):
                registry[name](views, stage)
        with report.stage("publish"):
            report.files += publish.publish(stage, Path(out))
    report.articles = report.articles or len(extractions)
    report.entities, report.relations, report.triples = len(kgraph.nodes), len(kgraph.edges), len(views.rdf)
    return report


def build(corpus: Path, out: Path, *, nlp: Language | None = None, segmenter: str = "char",
          pkuseg_model: Path | None = None, model: str | None = None, jobs: int = 1,
          max_bytes: int = 20_000_000, cache: bool = True, store: Path | None = None,
          formats: Sequence[str] | None = None, title: str | None = None,
          progress: Callable[[Iterable], Iterable] | None = None, follow_symlinks: bool = False,
          html_max_nodes: int = 2000, scheduler: str | None = None) -> BuildReport:
    """The whole build (kg.stream.build): extract every article under `corpus` (reusing OUT/.records
    and OUT/.cache unless cache=False) in this process, `jobs` worker processes or on a Dask
    `scheduler`; merge in bounded memory; write the outputs of `formats` (default: all of
    kg.stream.build.OUTPUTS) into `out`; with `store`, load graph.ttl into an on-disk SPARQL store.
    Bad arguments raise BuildError before anything is extracted; a bad article is a Failure in the
    report, never fatal; a type or relation the ontology does not declare raises kg.schema.SchemaError."""
    from kg.stream import build as stream
    pipeline = {"model": model} if model else {
        "segmenter": segmenter, "pkuseg_model": str(pkuseg_model) if pkuseg_model else None}
    return stream.build(corpus, out, nlp, pipeline=pipeline, jobs=jobs, cache=cache, max_bytes=max_bytes,
                        html_max_nodes=html_max_nodes, store=store, formats=formats, title=title,
                        scheduler=scheduler, follow_symlinks=follow_symlinks, progress=progress)
