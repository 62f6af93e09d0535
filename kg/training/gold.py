"""Gold entity files (ANNOTATION.md format) projected onto their articles as NER examples.

Each entity's name and aliases are matched on the ingested text (the text the pipeline reads),
longest form first, never overlapping: in 京东方青岛基地 the Project wins and 京东方 is labelled
only where it stands alone. The article is cut in the same sentence chunks the NER reads at run
time (kg.pipeline.ner.chunks), so training and extraction see the same pieces.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from kg.ingest import read_article
from kg.pipeline.ner import chunks
from kg.vocab import Names

Span = tuple[int, int, str]  # start, end (exclusive), label


def project(text: str, entities: list[dict]) -> list[Span]:
    """Every occurrence of every entity form, longest first, without overlaps."""
    forms = sorted({(form, e["type"]) for e in entities for form in [e["name"], *(e.get("aliases") or [])]
                    if len(form) >= 2}, key=lambda ft: (-len(ft[0]), ft[0]))
    taken = bytearray(len(text))
    spans: list[Span] = []
    for form, label in forms:
        for m in re.finditer(re.escape(form), text):
            if not any(taken[m.start():m.end()]):
                spans.append((m.start(), m.end(), label))
                taken[m.start():m.end()] = b"\x01" * (m.end() - m.start())
    return sorted(spans)


def examples(articles: list[Path], gold_dir: Path) -> Iterator[tuple[str, list[Span]]]:
    """(chunk text, spans in it) for each article that has a gold file of the same stem."""
    for path in articles:
        gold = gold_dir / f"{path.stem}.json"
        if not gold.exists():
            raise FileNotFoundError(f"{gold}: no gold file for {path.name}")
        text = read_article(path).text
        spans = project(text, json.loads(gold.read_text("utf-8"))["entities"])
        for start, end in chunks(text):
            inside = [(s - start, e - start, t) for s, e, t in spans if start <= s and e <= end]
            yield text[start:end], inside


def news_split(split_file: Path, news: Path, part: str) -> list[Path]:
    """The articles of one part ("train" or "evaluation") of the fixed split."""
    names = json.loads(split_file.read_text("utf-8"))[part]
    return [news / "articles" / name for name in names]


def owner_examples(gold_files: list[Path]) -> Iterator[tuple[str, list[Span]]]:
    """Project names alone, with the company or body at their head labelled (京东方青岛基地 ->
    京东方 Enterprise) or nothing: the NER learns to find a project's owner inside its name,
    which the flat labelling of the article (the project wins) cannot teach."""
    for path in gold_files:
        entities = json.loads(path.read_text("utf-8"))["entities"]
        owners = sorted(((f, e["type"]) for e in entities if e["type"] in (Names.Enterprise, Names.Organization)
                         for f in [e["name"], *(e.get("aliases") or [])]), key=lambda ft: -len(ft[0]))
        for e in entities:
            if e["type"] != Names.Project:
                continue
            for form in dict.fromkeys([e["name"], *(e.get("aliases") or [])]):
                head = next(((f, t) for f, t in owners if form.startswith(f) and len(f) < len(form)), None)
                yield form, [(0, len(head[0]), head[1])] if head else []
