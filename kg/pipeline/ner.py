"""`kg_ner`: the project's own statistical NER (trained by `kg train`) as a pipeline component.

The model reads characters, whatever segmenter the host pipeline uses, so one trained
model serves the char, jieba and pkuseg pipelines alike: its spans are mapped onto the
host doc's tokens and stored in `doc.spans["kg_ner"]` for `kg_entities` to arbitrate.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cached_property
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch
from thinc.api import use_ops
from threadpoolctl import ThreadpoolController

from kg.pipeline import inference
from kg.pipeline.text import char_doc, doc_text

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "ner"
SPANS_KEY = "kg_ner"


SENTENCE = re.compile(r"[^。！？；\n]*(?:[。！？；]+[”’」』）)]*|\n|$)")


def chunks(text: str, limit: int = 400) -> list[tuple[int, int]]:
    """(start, end) pieces of whole sentences, at most `limit` characters each unless one
    sentence is longer (then it is cut at the limit); paragraph breaks always end a piece."""
    out: list[tuple[int, int]] = []
    start = end = 0
    for m in SENTENCE.finditer(text):
        if m.start() == m.end():
            continue
        if m.end() - start > limit and end > start:
            out.append((start, end))
            start = end
        while m.end() - start > limit:
            out.append((start, start + limit))
            start += limit
        end = m.end()
        if m.group().endswith("\n"):
            out.append((start, end - 1)) if end - 1 > start else None
            start = end
    if end > start:
        out.append((start, end))
    return out


class StatisticalNER:
    def __init__(self, name: str, model: str | None, batch_size: int):
        self.name = name
        self.path = Path(model) if model else DEFAULT_MODEL
        if not (self.path / "meta.json").exists():
            raise FileNotFoundError(f"no NER model at {self.path}: rebuild it with `kg train`")
        self.batch_size = batch_size

    @cached_property
    def nlp(self) -> Language:
        """The trained model, loaded on first use (a saved pipeline's from_disk may replace the path).
        Its layers multiply through numpy's BLAS: on the tok2vec's matrices ~3x faster than thinc's
        default blis, with the same entities (benchmarks/build_benchmark.py); its CNN predicts
        through kg.pipeline.inference's forwards (the same numbers; tok2vec 2.4 -> 1.7 CPU s on
        stage_benchmark's text)."""
        with use_ops("numpy", use_blis=False):
            nlp = spacy.load(self.path)
        if "tok2vec" in nlp.pipe_names:
            inference.speed_up(nlp.get_pipe("tok2vec").model)  # type: ignore[attr-defined]
        return nlp

    def to_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        self.nlp.to_disk(Path(path) / "model")  # the saved pipeline carries its model

    def from_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> StatisticalNER:
        self.path = Path(path) / "model"
        self.__dict__.pop("nlp", None)
        return self

    def _annotate(self, doc: Doc, found: list[tuple[int, int, str]]) -> Doc:
        spans = []
        for start, end, label in found:
            span = doc.char_span(start, end, label, alignment_mode="expand")
            if span is not None:
                spans.append(span)
        doc.spans[SPANS_KEY] = spans
        return doc

    def _run(self, texts: list[str]) -> list[list[tuple[int, int, str]]]:
        """Entities per text. The model reads a few sentences at a time: a whole article in one
        pass would hold activations for every character of the batch at once (GBs)."""
        pieces = [(i, start, text[start:end]) for i, text in enumerate(texts) for start, end in chunks(text)]
        found: list[list[tuple[int, int, str]]] = [[] for _ in texts]
        for (i, offset, _), piece in zip(pieces, self.read([p for _, _, p in pieces])):
            found[i] += [(offset + e.start_char, offset + e.end_char, e.label_) for e in piece.ents]
        return found

    def read(self, texts: list[str]) -> list[Doc]:
        """The model's docs for short texts (sentences, names). BLAS gets one thread: parallelism
        is `--jobs` worker processes, which its threads would oversubscribe (and on a busy
        machine, spinning threads make small products 10x slower)."""
        with self._blas.limit(limits=1, user_api="blas"):
            return list(self.nlp.pipe(map(self._char_doc, texts), batch_size=self.batch_size))

    def _char_doc(self, text: str) -> Doc:
        """The model's tokenizer's doc (one token a character)."""
        return char_doc(self.nlp.vocab, text)

    @cached_property
    def _blas(self) -> ThreadpoolController:
        return ThreadpoolController()  # finds the loaded BLAS libraries once (ms), limits cheaply (µs)

    def __call__(self, doc: Doc) -> Doc:
        return self._annotate(doc, self._run([doc_text(doc)])[0])

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        for batch in minibatch(docs, batch_size or self.batch_size):  # stream: never the whole corpus
            for doc, found in zip(batch, self._run([doc_text(d) for d in batch])):
                yield self._annotate(doc, found)


@Language.factory("kg_ner", assigns=["doc.spans"],
                  default_config={"model": None, "batch_size": 32})
def make_ner(nlp, name: str, model: str | None, batch_size: int) -> StatisticalNER:
    return StatisticalNER(name, model, batch_size)
