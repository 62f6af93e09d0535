"""Extraction -> one compact record per article (a JSON line); records kept in partition files.

JSON lines rather than Parquet: a record is nested (entities with aliases and mentions, relations)
and is produced one article at a time by extraction workers, then read back whole and in order by
the merge. JSON lines append an article at a time with the standard library, need no schema for the
nested lists and stay readable with `head`; Parquet's strength, scanning a few columns, is a read the
merge never does.

A record has no per-character offsets: every mention and evidence sentence carries its offsets in
the original file, mapped once at extraction time through Article.offsets. Evidence sentences are
stored once per article and referenced by index. Each entity also carries how it enters the merge
(kg.graph.merge_names: a relative name such as 区委 qualified by the article's place), since that
depends on the article alone.

Partition k holds articles whose doc ids all sort before those of partition k+1, so reading the
partitions in order gives every article in doc-id order, which the merge relies on.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from kg.graph import merge_names
from kg.types import Evidence, Extraction

VERSION = 2  # 2: entities carry their merge name (kg.graph.merge_names)
Record = dict[str, Any]


class RecordError(ValueError):
    """Record partitions that cannot be read: names the file and the reason."""


def to_record(ex: Extraction) -> Record:
    """The compact form of one article's extraction; mention offsets are in the original file."""
    article = ex.article
    sents: dict[tuple[str, int, int, int], int] = {}

    def ev(e: Evidence) -> int:
        return sents.setdefault((e.sentence, e.sent_index, e.start, e.end), len(sents))

    ents = [[e.type, e.name, list(e.aliases), e.confidence,
             [[*article.source_span(m.start, m.end), ev(m.evidence)] for m in e.mentions],
             merge.label, merge.key, list(merge.joins)]
            for e, merge in zip(ex.entities, merge_names(ex))]
    rels = [[r.head, r.relation, r.tail, ev(r.evidence), r.role, r.amount, r.confidence] for r in ex.relations]
    return {"v": VERSION, "doc": article.doc_id, "sha256": article.sha256, "title": article.title,
            "date": article.date, "reporters": list(article.reporters),
            "sents": [list(s) for s in sents], "ents": ents, "rels": rels}


def partition_path(folder: Path, index: int) -> Path:
    return Path(folder) / f"part-{index:06d}.jsonl"


def write_partition(records: Iterable[Record], path: Path) -> int:
    """Write records sorted by doc id, atomically (a killed worker leaves no half partition)."""
    rows = sorted(records, key=lambda r: r["doc"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
            f.write("\n")
    os.replace(tmp, path)
    return len(rows)


def write_records(extractions: Iterable[Extraction], folder: Path, per_part: int = 1000) -> int:
    """Records of extractions given in doc-id order, `per_part` articles a partition."""
    n, part, chunk = 0, 0, []
    for ex in extractions:
        chunk.append(to_record(ex))
        if len(chunk) == per_part:
            n += write_partition(chunk, partition_path(folder, part))
            part, chunk = part + 1, []
    if chunk:
        n += write_partition(chunk, partition_path(folder, part))
    return n


def partitions(folder: Path) -> list[Path]:
    return sorted(Path(folder).glob("part-*.jsonl"))


def read_partition(path: Path) -> Iterator[Record]:
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise RecordError(f"{path}:{line_no}: not a record ({err.msg})") from None
            if record.get("v") != VERSION:
                raise RecordError(f"{path}:{line_no}: record version {record.get('v')!r}, expected {VERSION}")
            yield record


def read_records(folder: Path) -> Iterator[Record]:
    """Every record, in doc-id order; raises RecordError if the partitions are not in order."""
    return read_group(partitions(folder))


def read_group(paths: list[Path]) -> Iterator[Record]:
    """The records of consecutive partitions, checking that doc ids never go back."""
    last = ""
    for path in paths:
        for record in read_partition(path):
            if record["doc"] < last:
                raise RecordError(f"{path}: {record['doc']!r} sorts before {last!r} of an earlier record")
            last = record["doc"]
            yield record
