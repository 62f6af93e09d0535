"""`kg_ner`: the project's own statistical NER (trained by `kg train`) as a pipeline component.

The model reads characters, whatever segmenter the host pipeline uses, so one trained
model serves the char, jieba and pkuseg pipelines alike: its spans are mapped onto the
host doc's tokens and stored in `doc.spans["kg_ner"]` for `kg_entities` to arbitrate.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "ner"
SPANS_KEY = "kg_ner"


class StatisticalNER:
    def __init__(self, name: str, model: str | None, batch_size: int):
        self.name = name
        path = Path(model) if model else DEFAULT_MODEL
        if not (path / "meta.json").exists():
            raise FileNotFoundError(f"no NER model at {path}: rebuild it with `kg train`")
        self.nlp = spacy.load(path)
        self.batch_size = batch_size

    def _annotate(self, doc: Doc, inner: Doc) -> Doc:
        spans = []
        for ent in inner.ents:
            span = doc.char_span(ent.start_char, ent.end_char, ent.label_, alignment_mode="expand")
            if span is not None:
                spans.append(span)
        doc.spans[SPANS_KEY] = spans
        return doc

    def __call__(self, doc: Doc) -> Doc:
        return self._annotate(doc, self.nlp(doc.text))

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        size = batch_size or self.batch_size
        for batch in minibatch(docs, size):  # stream: never hold the whole corpus
            for doc, parsed in zip(batch, self.nlp.pipe((d.text for d in batch), batch_size=size)):
                yield self._annotate(doc, parsed)


@Language.factory("kg_ner", assigns=["doc.spans"],
                  default_config={"model": None, "batch_size": 64})
def make_ner(nlp: Language, name: str, model: str | None, batch_size: int) -> StatisticalNER:
    return StatisticalNER(name, model, batch_size)
