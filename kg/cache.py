"""Per-article extraction cache: a rebuild re-extracts only articles whose bytes or pipeline changed.

Key = SHA-256 of the article's raw bytes + its file name + the pipeline version (kg.nlp.version), so an
edited article, or a new model or rule set, misses the cache. Entries are pickled
Extractions written atomically; entries no build used are pruned after it.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

from kg.types import Article, Extraction


class ExtractionCache:
    def __init__(self, folder: Path, pipeline_version: str):
        self.folder = folder
        self.version = hashlib.sha256(pipeline_version.encode("utf-8")).hexdigest()[:12]
        self.used: set[Path] = set()
        self.hits = self.misses = 0

    def _path(self, article: Article) -> Path:
        # the file name is part of the key: evidence records name their article
        name = hashlib.sha256(article.doc_id.encode("utf-8")).hexdigest()[:8]
        return self.folder / f"{article.sha256}-{name}-{self.version}.pickle"

    def get(self, article: Article) -> Extraction | None:
        path = self._path(article)
        self.used.add(path)
        try:
            with path.open("rb") as f:
                ex = pickle.load(f)
            self.hits += 1
            return ex
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            self.misses += 1
            return None

    def put(self, ex: Extraction) -> None:
        path = self._path(ex.article)
        self.used.add(path)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(ex, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)

    def prune(self) -> int:
        """Drop entries this build did not use (removed or changed articles, old pipelines)."""
        stale = [p for p in self.folder.glob("*.pickle") if p not in self.used] if self.folder.exists() else []
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)
