"""Doc -> Extraction: mentions resolved to entities, relations from the pipeline plus the
article-level facts that no single sentence states (the article's home district).

A pure function of one article: no state is shared across articles, so extraction
parallelises and caches per article; merging across articles is kg/graph.py's job.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter

from spacy.tokens import Doc, Span

from kg import lexicon
from kg.pipeline.relations import NESTED_KEY, End, Rel
from kg.resolve import Resolver
from kg.schema import Schema
from kg.schema import load as load_schema
from kg.types import Article, Entity, Evidence, Extraction, Mention, Relation
from kg.vocab import Names

BUILD = re.compile(r"(?:开工建设|投资建设|建设|打造|推进|推动|加快|引进|签约|落地|落户|启动|建成)")


class Sentences:
    """Sentence lookup by character offset (doc.sents and doc.text rebuild on every access)."""

    def __init__(self, doc: Doc, article: Article):
        self.article = article
        self.bounds = [(s.start_char, s.end_char, s.text.strip()) for s in doc.sents]
        self.starts = [b[0] for b in self.bounds]

    def evidence(self, start: int) -> Evidence:
        i = bisect_right(self.starts, start) - 1
        if i < 0:
            return Evidence(self.article.doc_id, "", -1, 0, 0)
        s, e, text = self.bounds[i]
        return Evidence(self.article.doc_id, text, i, *self.article.source_span(s, e))


def extract(doc: Doc, article: Article, schema: Schema | None = None) -> Extraction:
    """Span and relation labels must be classes and relations of `schema` (default: the
    ontology in use); anything else is a SchemaError naming the article."""
    schema = schema or load_schema()
    lex = lexicon.load()
    text, sents = doc.text, Sentences(doc, article)
    spans: list[Span] = list(doc.ents) + list(doc.spans.get(NESTED_KEY, []))
    # kb_id_ names the component that found a span (suffix, lexicon, ner, title…); owners and
    # places inside names come from kg_relations
    mentions = [Mention(s.text, schema.check_type(s.label_, f"{article.doc_id}: span {s.text!r}: "),
                        s.start_char, s.end_char, s.kb_id_ or "name structure", sents.evidence(s.start_char))
                for s in spans]
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
        add(end_name(r.head), r.label, end_name(r.tail), sents.evidence(r.tail[0]),
            r.role, r.amount, r.confidence)

    # -- article-level inference: the home district, its city and province -------------------
    by_type = {t: [e for e in entities if e.type == t] for t in (Names.District, Names.Organization, Names.Project)}
    counts = Counter({e.name: len(e.mentions) for e in by_type[Names.District]})
    zones = [e for e in by_type[Names.District] if e.name not in lex.divisions or lex.divisions[e.name].level == 3]
    # the article's home: a county-level district or new area (新区) before functional zones
    home = max(zones, key=lambda e: (e.name.endswith("新区") or e.name in lex.divisions, counts[e.name],
                                     len(e.name)), default=None)
    cities = [e for e in by_type[Names.District] if e.name in lex.divisions and lex.divisions[e.name].level == 2]
    city = max(cities, key=lambda e: counts[e.name], default=None)
    provinces = [e for e in by_type[Names.District] if e.name in lex.divisions and lex.divisions[e.name].level == 1]
    if city is not None:
        parent = lex.parent(city.name)
        province = next((p for p in provinces if parent and lex.divisions[p.name] == parent), None)
    else:
        province = max(provinces, key=lambda e: counts[e.name], default=None)

    def first_ev(e: Entity) -> Evidence:
        return e.mentions[0].evidence

    if home is not None and city is not None and home.name != city.name:
        add(home.name, Names.locatedIn, city.name, first_ev(home), conf=0.7)
        if province is not None:
            add(home.name, Names.locatedIn, province.name, first_ev(home), conf=0.6)
    for d in by_type[Names.District]:  # county -> city, where the text names both
        div = lex.divisions.get(d.name)
        parent = lex.parent(d.name) if div and div.level == 3 else None
        for p in by_type[Names.District]:
            if parent is not None and lex.divisions.get(p.name) == parent:
                add(d.name, Names.locatedIn, p.name, first_ev(d), conf=0.9)

    # 区领导甲、乙: the district's leaders work for it
    people = {n for e in entities if e.type == Names.Person for n in [e.name, *e.aliases]}
    for m in re.finditer(r"(区|市|省)领导((?:[\u4e00-\u9fff]{2,4}、?)+)", text):
        place = {"区": home, "市": city, "省": province}[m.group(1)]
        for name in m.group(2).split("、"):
            for person in people:
                if place is not None and name.startswith(person):
                    add(resolver.name_of(person), Names.worksFor, place.name, sents.evidence(m.start()),
                        role=m.group(1) + "领导", conf=0.8)

    # interviews: a zone whose leader heads a section owns the projects listed in it
    section_zone = _section_zones(text, entities, rels)
    level = {"区": home, "新区": home, "工委": home, "管委": home, "市": city, "省": province}
    for o in by_type[Names.Organization]:  # 区财政局 -> the home district, 市委 -> its city
        prefix = re.match(r"新区|工委|管委|区|市|省", o.name)
        place = level[prefix.group()] if prefix else None
        if place is not None:
            add(o.name, Names.locatedIn, place.name, first_ev(o), conf=0.7)
        elif home is not None and any(o.name.startswith(a) for a in [home.name, *home.aliases] if len(a) > 1):
            add(o.name, Names.locatedIn, home.name, first_ev(o), conf=0.8)
    for d in zones:
        if d.name in lex.countries:
            continue
        if home is not None and d is not home and not any(r.head == d.name and r.relation == Names.locatedIn
                                                          and r.tail == home.name for r in rels.values()):
            add(d.name, Names.locatedIn, home.name, first_ev(d), conf=0.6)
    for p in by_type[Names.Project]:
        first = p.mentions[0]
        zone = section_zone(first.start) or home
        if zone is not None:  # the nearest zone only: locatedIn is transitive
            add(p.name, Names.locatedIn, zone.name, first.evidence, conf=0.6)
            before = text[max(0, first.start - 12):first.start]
            if BUILD.search(before) and section_zone(first.start) is not None:
                add(zone.name, Names.invests, p.name, first.evidence, conf=0.5)
    return Extraction(article, entities, sorted(rels.values(), key=lambda r: (r.head, r.relation, r.tail)))


def _section_zones(text: str, entities: list[Entity], rels: dict):
    """Offset -> the District whose leader a heading introduces (interview series)."""
    districts = {e.name: e for e in entities if e.type == Names.District}
    marks: list[tuple[int, Entity]] = []
    for (_, label, tail), r in rels.items():
        if label in (Names.leads, Names.worksFor) and tail in districts and r.evidence.sentence and len(r.evidence.sentence) < 60 \
                and not re.search(r"[。！？]", r.evidence.sentence):
            pos = text.find(r.evidence.sentence)
            if pos >= 0:
                marks.append((pos, districts[tail]))
    marks.sort(key=lambda m: m[0])

    def zone_at(offset: int) -> Entity | None:
        current = None
        for pos, zone in marks:
            if pos <= offset:
                current = zone
        return current
    return zone_at

