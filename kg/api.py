"""The library entry point: files -> Extractions (per article) -> merged graph -> exports.

The CLI (kg/cli.py) is a thin layer over these functions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Callable, Iterable, Iterator

from spacy.language import Language

from kg import nlp as kg_nlp
from kg.cache import ExtractionCache
from kg.extract import extract
from kg.ingest import IngestError, iter_articles, read_article
from kg.types import Article, Extraction


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
    cached: int = 0  # extractions taken from the cache


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
                     n_process: int = 1, batch_size: int = 8) -> Iterator[Extraction]:
    """Extractions in input order. With n_process > 1, whole articles go to worker processes
    that each build the pipeline once: extraction is a pure function of one article, and
    only the Article and its (small) Extraction cross process boundaries."""
    articles = _fitting(nlp, articles, failures)
    if n_process > 1:
        yield from _extract_in_workers(nlp, articles, failures, n_process)
        return
    stream = ((a.text, a) for a in articles)
    for doc, article in nlp.pipe(stream, as_tuples=True, batch_size=batch_size):
        try:
            yield extract(doc, article)
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


_WORKER: list[Language] = []


def _init_worker(build_args: dict) -> None:
    _WORKER.append(kg_nlp.build(**build_args))


def _extract_one(article: Article) -> Extraction | Failure:
    try:
        return extract(_WORKER[0](article.text), article)
    except Exception as err:
        return Failure(article.source, f"extraction failed: {type(err).__name__}: {err}")


def _extract_in_workers(nlp: Language, articles: Iterable[Article], failures: list[Failure],
                        n_process: int) -> Iterator[Extraction]:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    build_args = nlp.meta.get("kg_build", {})
    with ProcessPoolExecutor(n_process, mp_context=mp.get_context("spawn"),
                             initializer=_init_worker, initargs=(build_args,)) as pool:
        for result in pool.map(_extract_one, articles, chunksize=1):
            if isinstance(result, Failure):
                failures.append(result)
            else:
                yield result


def run(path: Path, nlp: Language | None = None, progress: Callable[[Iterable], Iterable] | None = None,
        n_process: int = 1, max_bytes: int = 20_000_000, cache: Path | None = None,
        follow_symlinks: bool = False) -> Run:
    """Extract every article under `path` (a file or folder). With `cache`, articles whose
    bytes and pipeline are unchanged since the last run are not extracted again. Symlinks out
    of the folder are failures unless `follow_symlinks`."""
    nlp = nlp or kg_nlp.build()
    result = Run()
    files = list(iter_articles(path))
    store = ExtractionCache(cache, kg_nlp.version(nlp)) if cache else None
    todo: list[Article] = []
    root = Path(path) if Path(path).is_dir() else None
    for article in load_articles(files, result.failures, max_bytes, root, follow_symlinks):
        hit = store.get(article) if store else None
        if hit is not None:
            result.extractions.append(hit)
        else:
            todo.append(article)
    result.cached = len(result.extractions)
    for ex in (progress or (lambda x: x))(extract_articles(nlp, todo, result.failures, n_process)):
        result.extractions.append(ex)
        if store:
            store.put(ex)
    if store:
        store.prune()
    result.extractions.sort(key=lambda ex: ex.article.doc_id)
    return result


def ner_mentions(texts: list[str], nlp: Language | None = None,
                 layer: str = "pipeline") -> list[list[tuple[int, int, str]]]:
    """Entity mentions (start, end, type) per raw sentence, for mention-level NER benchmarks:
    the whole pipeline's entities, or (layer="model") the statistical NER's alone."""
    from kg.pipeline.ner import SPANS_KEY
    nlp = nlp or _bench_nlp()
    if layer == "model":
        return [[(e.start_char, e.end_char, e.label_) for e in doc.spans[SPANS_KEY]]
                for doc in nlp.pipe(texts, batch_size=64, disable=["kg_entities", "kg_relations"])]
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents]
            for doc in nlp.pipe(texts, batch_size=64)]


@cache
def _bench_nlp() -> Language:
    return kg_nlp.build()
