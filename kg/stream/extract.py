"""Corpus files -> record partitions: extraction as independent tasks, one per partition of files.

A task reads its files, extracts each article (or takes it from the extraction cache) and writes
one record partition with a manifest beside it. Tasks share nothing but folders, so they run in
this process, in worker processes, or on Dask workers (kg.stream.cluster). A task whose files (name,
size, mtime) and pipeline are those of its manifest reuses its partition without reading a file:
after one article changes, one task runs again.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spacy.language import Language

from kg import nlp as kg_nlp
from kg.api import Failure, extract_articles, load_articles
from kg.cache import ExtractionCache
from kg.ingest import article_id, iter_articles
from kg.stream.records import VERSION as RECORD_VERSION
from kg.stream.records import partition_path, partitions, to_record, write_partition

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Task:
    index: int
    files: tuple[str, ...]
    records: str                     # the record folder
    pipeline: dict[str, Any]         # kg.nlp.build arguments (nlp.meta["kg_build"])
    cache: str | None = None         # extraction cache folder
    max_bytes: int = 20_000_000
    root: str | None = None          # the corpus folder: article ids are paths relative to it
    follow_symlinks: bool = False


@dataclass
class TaskResult:
    index: int
    articles: int = 0
    cached: int = 0
    reused: bool = False             # the partition was up to date: nothing read
    failures: list[Failure] = field(default_factory=list)
    cache_entries: list[str] = field(default_factory=list)  # cache files this task used


def plan(corpus: Path, records: Path, pipeline: dict[str, Any], cache: Path | None = None,
         per_part: int = 100, max_bytes: int = 20_000_000, follow_symlinks: bool = False,
         workers: int = 1) -> list[Task]:
    """Tasks over the corpus's files in doc-id order (kg.ingest.article_id: the merge relies on
    it), `per_part` files each, fewer if that gives each of `workers` a task. Raises IngestError
    for a missing path or a folder without .txt files."""
    root = Path(corpus) if Path(corpus).is_dir() else None
    files = sorted(iter_articles(corpus), key=lambda p: (article_id(p, root), str(p)))
    per_part = max(1, min(per_part, -(-len(files) // workers)))
    return [Task(i, tuple(str(p) for p in files[lo:lo + per_part]), str(records), pipeline,
                 str(cache) if cache else None, max_bytes, str(root) if root else None, follow_symlinks)
            for i, lo in enumerate(range(0, len(files), per_part))]


_PIPELINES: dict[str, Language] = {}


def pipeline(args: dict[str, Any]) -> Language:
    """The pipeline for these build arguments, built once per process."""
    key = _key(args)
    if key not in _PIPELINES:
        _PIPELINES[key] = kg_nlp.build(**args)
    return _PIPELINES[key]


def use_pipeline(args: dict[str, Any], nlp: Language | None) -> None:
    """A worker's initializer: `nlp` (inherited from a forking parent) serves these arguments."""
    if nlp is not None:
        _PIPELINES[_key(args)] = nlp


def _key(args: dict[str, Any]) -> str:
    return json.dumps(args, sort_keys=True)


def _stat(path: str) -> list:
    try:
        st = os.stat(path)
        return [path, st.st_size, st.st_mtime_ns]
    except OSError:
        return [path, None, None]


def run_task(task: Task, nlp: Language | None = None) -> TaskResult:
    """Extract the task's files into its record partition (or reuse it)."""
    nlp = nlp or pipeline(task.pipeline)
    part = partition_path(Path(task.records), task.index)
    manifest_path = part.with_suffix(".json")
    # a partition is reused only if made from these files, by this pipeline, in this record format
    manifest = {"v": MANIFEST_VERSION, "records": RECORD_VERSION, "pipeline": kg_nlp.version(nlp),
                "max_bytes": task.max_bytes,
                "files": [_stat(f) for f in task.files]}
    try:
        old = json.loads(manifest_path.read_text(encoding="utf-8"))
        if part.exists() and {k: old.get(k) for k in manifest} == manifest:
            return TaskResult(task.index, old["articles"], reused=True,
                              failures=[Failure(p, r) for p, r in old["failures"]])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no manifest or an unreadable one: extract
    result = TaskResult(task.index)
    store = ExtractionCache(Path(task.cache), kg_nlp.version(nlp)) if task.cache else None
    records, todo = [], []
    for article in load_articles([Path(f) for f in task.files], result.failures, task.max_bytes,
                                 Path(task.root) if task.root else None, task.follow_symlinks):
        hit = store.get(article) if store else None
        if hit is not None:
            records.append(to_record(hit))
        else:
            todo.append(article)
    result.cached = len(records)
    for ex in extract_articles(nlp, todo, result.failures):
        records.append(to_record(ex))
        if store:
            store.put(ex)
    result.articles = write_partition(records, part)
    if store:
        result.cache_entries = [p.name for p in store.used]
    manifest.update(articles=result.articles, failures=[[f.path, f.reason] for f in result.failures])
    tmp = manifest_path.with_name(f".{manifest_path.name}.{os.getpid()}.tmp")
    # ASCII: a file name that is not UTF-8 holds surrogates (os.fsdecode), which only escapes keep
    tmp.write_text(json.dumps(manifest), encoding="utf-8")
    os.replace(tmp, manifest_path)
    return result


def remove_stale(records: Path, n_tasks: int) -> None:
    """Partitions beyond the plan (the corpus shrank) must not reach the merge."""
    for part in partitions(records):
        if int(part.stem.split("-")[1]) >= n_tasks:
            part.unlink(missing_ok=True)
            part.with_suffix(".json").unlink(missing_ok=True)


def prune_cache(cache: Path, results: list[TaskResult]) -> None:
    """Drop cache entries no task used, and temporary files of killed builds. A reused partition
    read no cache entry, so while one was reused, only the temporary files go (its entries are
    still good)."""
    if not cache.exists():
        return
    store = ExtractionCache(cache, "")
    if any(r.reused for r in results):
        store.used = {p for p in cache.iterdir() if p.suffix != ".tmp"}
    else:
        store.used = {cache / name for r in results for name in r.cache_entries}
    store.prune()
