"""Doc -> Extraction: mentions resolved to entities, the pipeline's relations converted to
named ends (article-level facts such as the home district are kg_relations' candidates).

A pure function of one article: no state is shared across articles, so extraction
parallelises and caches per article; merging across articles is kg/graph.py's job.
"""
from __future__ import annotations

from bisect import bisect_right

from spacy.tokens import Doc, Span

from kg.pipeline.relations import NESTED_KEY, End, Rel
from kg.pipeline.text import doc_text
from kg.resolve import Resolver
from kg.schema import Schema
from kg.schema import load as load_schema
from kg.types import Article, Evidence, Extraction, Mention, Relation
from kg.vocab import Names


class Sentences:
    """Sentence lookup by character offset (doc.sents rebuilds its Spans on every access)."""

    def __init__(self, doc: Doc, article: Article):
        self.article = article
        text = doc_text(doc)  # Span.text joins the span's tokens again: slice the text instead
        self.bounds = [(s.start_char, s.end_char, text[s.start_char:s.end_char].strip()) for s in doc.sents]
        self.starts = [b[0] for b in self.bounds]
        self.made: dict[int, Evidence] = {}  # by sentence number: every mention of a sentence shares it

    def evidence(self, start: int) -> Evidence:
        i = bisect_right(self.starts, start) - 1
        ev = self.made.get(i)
        if ev is None:
            if i < 0:
                ev = Evidence(self.article.doc_id, "", -1, 0, 0)
            else:
                s, e, text = self.bounds[i]
                ev = Evidence(self.article.doc_id, text, i, *self.article.source_span(s, e))
            self.made[i] = ev
        return ev


def extract(doc: Doc, article: Article, schema: Schema | None = None) -> Extraction:
    """Span and relation labels must be classes and relations of `schema` (default: the
    ontology in use); anything else is a SchemaError naming the article."""
    schema = schema or load_schema()
    text, sents = doc_text(doc), Sentences(doc, article)
    spans: list[Span] = list(doc.ents) + list(doc.spans.get(NESTED_KEY, []))
    # kb_id_ names the component that found a span (suffix, lexicon, ner, title…); owners and
    # places inside names come from kg_relations
    mentions = []
    checked: set[str] = set()  # each label once
    for s in spans:
        start, end, label = s.start_char, s.end_char, s.label_
        surface = text[start:end]  # = s.text, which joins the span's tokens again
        if label not in checked:
            schema.check_type(label, f"{article.doc_id}: span {surface!r}: ")
            checked.add(label)
        mentions.append(Mention(surface, label, start, end, s.kb_id_ or "name structure", sents.evidence(start)))
    for name in article.reporters:  # bylines name people even where the text layout hides them
        pos = max(text.find(name), 0)
        mentions.append(Mention(name, Names.Person, pos, pos + len(name), "byline", sents.evidence(pos)))
    resolver = Resolver(text, mentions)
    entities = resolver.entities()
    name_of = resolver.name_of

    rels: dict[tuple[str, str, str], Relation] = {}

    def add(head: str | None, label: str, tail: str | None, ev: Evidence, role=None, amount=None, conf=1.0):
        if not head or not tail or head == tail:
            return
        key = (head, label, tail)
        old = rels.get(key)
        if old is None or conf > old.confidence or (amount and not old.amount):
            rels[key] = Relation(head, label, tail, ev, role or (old.role if old else None),
                                 amount or (old.amount if old else None), max(conf, old.confidence if old else 0))

    def end_name(end: End) -> str | None:
        return name_of(text[end[0]:end[1]])

    for r in doc._.relations:
        r = Rel(*r)
        schema.check_relation(r.label, f"{article.doc_id}: relation: ")
        add(end_name(r.head), r.label, end_name(r.tail), sents.evidence(r.head[0]),
            r.role, r.amount, r.confidence)
    return Extraction(article, entities, sorted(rels.values(), key=lambda r: (r.head, r.relation, r.tail)))
