"""Per-article extraction cache: a rebuild re-extracts only articles whose bytes or pipeline changed.

Key = SHA-256 of the article's raw bytes + its identity (path in the corpus) + the pipeline
version (kg.nlp.version), so an edited article, or a new model or rule set, misses the cache.
Entries are JSON (data, never code: whoever can write into the cache folder must not be able
to run anything at the next build), with a schema version, checked field by field against the
dataclasses of kg.types when read; an entry that fails any check is a miss. Entries are
written atomically; entries no build used, and temporary files of killed builds, are pruned
after a build.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import types
import typing
from functools import cache
from pathlib import Path
from typing import Any

from kg.types import Article, Extraction

SCHEMA = 1  # bump when kg.types changes shape


class BadEntry(ValueError):
    """A cache entry that does not match the schema."""


def _runs(offsets: tuple[int, ...]) -> list[list[int]]:
    """[first, count] per run of consecutive offsets: ~100x smaller than one int per character."""
    runs: list[list[int]] = []
    for o in offsets:
        if runs and runs[-1][0] + runs[-1][1] == o:
            runs[-1][1] += 1
        else:
            runs.append([o, 1])
    return runs


def _load(tp: Any, value: Any) -> Any:
    """`value` (parsed JSON) as type `tp`, checked all the way down; BadEntry otherwise."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        if not isinstance(value, dict) or not set(value) <= names:
            raise BadEntry(f"not a {tp.__name__}")
        return tp(**{k: _load(hints[k], v) for k, v in value.items()})
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            try:
                return _load(arg, value)
            except BadEntry:
                pass
        raise BadEntry(f"{value!r} is none of {tp}")
    if origin is typing.Literal:
        if value not in args:
            raise BadEntry(f"{value!r} not in {args}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise BadEntry(f"not a list: {value!r}")
        items = [_load(args[0], v) for v in value]
        return items if origin is list else tuple(items)
    if tp is type(None):
        if value is not None:
            raise BadEntry("expected null")
        return None
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (str, int, float, bool) and type(value) is tp:
        return value
    raise BadEntry(f"{value!r} is not {tp}")


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _plain(value: Any) -> Any:
    """dataclasses.asdict's JSON, without its deep copy of every leaf (half the time of a
    cache write, which counts in extraction's)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name)) for name in _field_names(type(value))}
    return value


def dump(ex: Extraction) -> str:
    data = _plain(dataclasses.replace(ex, article=dataclasses.replace(ex.article, offsets=())))
    data["article"]["offsets"] = _runs(ex.article.offsets)  # runs, not one int a character
    # ASCII JSON: a path that is not UTF-8 (surrogate escapes) still round-trips
    return json.dumps({"schema": SCHEMA, "extraction": data})


def load(text: str) -> Extraction:
    """The Extraction in a cache entry; BadEntry (or ValueError for bad JSON) otherwise."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("extraction"), dict):
        raise BadEntry("another schema version")
    body = data["extraction"]
    article = body.get("article")
    if not isinstance(article, dict):
        raise BadEntry("no article")
    runs = _load(list[tuple[int, int]], article.get("offsets"))
    article = {**article, "offsets": [o for first, count in runs for o in range(first, first + count)]}
    return _load(Extraction, {**body, "article": article})


class ExtractionCache:
    def __init__(self, folder: Path, pipeline_version: str):
        self.folder = folder
        self.version = hashlib.sha256(pipeline_version.encode("utf-8")).hexdigest()[:12]
        self.used: set[Path] = set()
        self.hits = self.misses = 0

    def _path(self, article: Article) -> Path:
        # the article's identity is part of the key: evidence records name their article
        name = hashlib.sha256(article.doc_id.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        return self.folder / f"{article.sha256}-{name}-{self.version}.json"

    def get(self, article: Article) -> Extraction | None:
        path = self._path(article)
        self.used.add(path)
        try:
            ex = load(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, RecursionError):  # missing or malformed: a miss
            self.misses += 1
            return None
        if (ex.article.sha256, ex.article.doc_id) != (article.sha256, article.doc_id):  # edited by hand
            self.misses += 1
            return None
        self.hits += 1
        ex.article = article  # where the file is now (the corpus may have moved)
        return ex

    def put(self, ex: Extraction) -> None:
        path = self._path(ex.article)
        self.used.add(path)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(dump(ex))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def prune(self) -> int:
        """Drop entries this build did not use (removed or changed articles, old pipelines or
        schemas), temporary files of killed builds, and anything else in the folder."""
        if not self.folder.exists():
            return 0
        stale = [p for p in self.folder.iterdir() if p not in self.used and p.is_file()]
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)
