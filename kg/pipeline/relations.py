"""`kg_relations`: relations a sentence states by its structure.

* leads / worksFor from post chains: 区财政局党组书记、局长李志强 -> leads 区财政局 (党组书记、局长);
  a deputy (副…) or member post gives worksFor.
* locatedIn from name structure: a division inside a project or zone name (京东方青岛基地 -> 青岛).
* invests from the owner at the head of a project name (京东方青岛基地 -> 京东方), with the
  amount of a 总投资…亿元 phrase in the same sentence.

Each relation is a plain tuple `(head, tail, label, role, amount, confidence)` whose ends
are `(start_char, end_char, entity_type)`; ends that are not in `doc.ents` (an owner inside
a project name) are also stored in `doc.spans["kg_nested"]`.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from typing import NamedTuple

from spacy.language import Language
from spacy.tokens import Doc, Span

from kg import lexicon
from kg.pipeline.entities import HAN, RULES_KEY
from kg.resolve import canonical_project
from kg.vocab import Names

NESTED_KEY = "kg_nested"
End = tuple[int, int, str]
CONNECTOR = re.compile(r"^[、，,（）()\s兼]*$")
AMOUNT = re.compile(r"(?:总投资|投资总额|计划投资|投资)(?:约|超|达|近)?(\d+(?:\.\d+)?)\s*(亿|万)?元")
GOVERNMENT_HEAD = re.compile(r"(省|市|区|县|镇|乡)长$")
COUNTED = re.compile(r"[\d一二三四五六七八九十百千]+(?:个|项|批)")


class Rel(NamedTuple):
    head: End
    tail: End
    label: str
    role: str | None
    amount: int | None
    confidence: float


def yuan(number: str, unit: str | None) -> int:
    """总投资42亿元 -> 4200000000 (亿 = 10^8, 万 = 10^4)."""
    scale = {"亿": 10**8, "万": 10**4}.get(unit or "", 1)
    return round(float(number) * scale)


class RelationRules:
    def __init__(self, name: str):
        self.name = name
        self.lex = lexicon.load()
        self.title_re = re.compile("|".join(map(re.escape, sorted(self.lex.titles, key=len, reverse=True))))
        if not Doc.has_extension("relations"):
            Doc.set_extension("relations", default=[])

    def __call__(self, doc: Doc) -> Doc:
        rels: list[Rel] = []
        nested: list[Span] = []
        all_ents = list(doc.ents)  # doc.ents and doc.spans build new Spans on every access
        inner = list(doc.spans.get(RULES_KEY, []))
        text = doc.text  # also rebuilt from the tokens on every access
        by_sent_ents, by_sent_parts = _by_sentence(doc, all_ents), _by_sentence(doc, inner)
        for sent in doc.sents:
            ents, parts = by_sent_ents.get(sent.start, []), by_sent_parts.get(sent.start, [])
            sent_rels = self.post_chains(text, sent, ents, parts) + self.name_structure(doc, text, ents, parts, nested)
            rels += self.with_amounts(sent, sent_rels)
        doc.spans[NESTED_KEY] = nested
        doc._.relations = rels
        return doc

    # -- leads / worksFor -------------------------------------------------------------------
    def post_chains(self, text: str, sent: Span, ents: list[Span], parts: list[Span] | tuple[()] = ()) -> list[Rel]:
        out: list[Rel] = []
        places = {(s.start_char, s.end_char) for s in parts if s.label_ == Names.District}
        people = [e for e in ents if e.label_ == Names.Person]
        bodies = [e for e in ents if e.label_ in (Names.Organization, Names.District, Names.Enterprise)]
        chains: dict[int, list[tuple[End | None, str]]] = {}
        for p in people:
            items = self._chain(text, sent.start_char, p.start_char, bodies)
            if not items and people.index(p) > 0:
                prev = people[people.index(p) - 1]
                if CONNECTOR.match(text[prev.end_char:p.start_char]) and prev.start_char in chains:
                    items = chains[prev.start_char]  # 区领导甲、乙、丙: the list shares the post
            if not items:
                continue
            chains[p.start_char] = items
            merged: dict[End | None, list[str]] = {}
            for body, title in items:
                if body and body[2] == Names.Organization and GOVERNMENT_HEAD.search(title):
                    # 胶州市委副书记、市长: the mayor heads the city, not the party committee
                    place = max(((a, b) for a, b in places if a == body[0] and b < body[1]),
                                key=lambda ab: ab[1], default=None)
                    body = (place[0], place[1], Names.District) if place else body
                merged.setdefault(body, []).append(title)
            for body, titles in merged.items():
                if body is None:
                    continue
                top = any(t in self.lex.top_titles for t in titles)
                out.append(Rel((p.start_char, p.end_char, Names.Person), body, Names.leads if top else Names.worksFor,
                               "、".join(titles), None, 0.9 if top else 0.8))
        return out

    def _chain(self, text: str, lo: int, person: int, bodies: list[Span]) -> list[tuple[End | None, str]]:
        """Walk left from a person over titles and bodies joined only by connectors."""
        items: list[tuple[int, int, str, End | None]] = []  # start, end, kind, body
        pos = person
        while pos > lo:
            title = next((m for m in self.title_re.finditer(text, max(lo, pos - 8), pos) if m.end() == pos), None)
            body = next((b for b in bodies if b.end_char == pos), None)
            if body is not None:
                items.append((body.start_char, pos, "body", (body.start_char, body.end_char, body.label_)))
                pos = body.start_char
            elif title is not None:
                items.append((title.start(), pos, "title", None))
                pos = title.start()
            elif text[pos - 1] in "）)" and items and (open_ := max(text.rfind("（", lo, pos), text.rfind("(", lo, pos))) > lo \
                    and pos - open_ <= 25 and not any(b.start_char > open_ and b.end_char < pos for b in bodies
                                                      if self.title_re.match(text, b.end_char)):
                pos = open_  # an aside in brackets, e.g. 区工商联（民营经济发展局）: its name's alias
            else:
                gap = re.match(r"[、，,（）()\s兼]+$", text[max(lo, pos - 1):pos])
                if gap and (items or text[pos - 1] in "）)"):
                    pos -= 1
                    continue
                break
        if not items or items[0][2] != "title":
            return []
        chain: list[tuple[End | None, str]] = []
        current: End | None = None
        for start, end, kind, end_of_body in reversed(items):
            if kind == "body":
                current = end_of_body
            else:
                chain.append((current, text[start:end]))
        return chain

    # -- locatedIn / invests from the shape of a name ----------------------------------------
    def name_structure(self, doc: Doc, text: str, ents: list[Span], inner: list[Span],
                       nested: list[Span]) -> list[Rel]:
        out: list[Rel] = []
        for e in ents:
            if e.label_ not in (Names.Project, Names.District):
                continue
            end = (e.start_char, e.end_char, e.label_)
            parts = [s for s in inner if e.start_char <= s.start_char and s.end_char <= e.end_char
                     and (s.start_char, s.end_char) != (e.start_char, e.end_char)]
            base_end = e.start_char + len(canonical_project(e.text)) if e.label_ == Names.Project else e.end_char
            starts = {s.start_char for s in parts if s.label_ == Names.District}
            # the NER's cut inside a name is a guess: it names an owner only up to a place name
            owner = max((s for s in parts if s.start_char == e.start_char and s.end_char < base_end
                         and s.label_ in (Names.Organization, Names.Enterprise)
                         and (s.kb_id_ != "ner" or s.end_char in starts)), key=len, default=None)
            places = [s for s in parts if s.label_ == Names.District and s.text not in self.lex.countries
                      and (owner is None or s.start_char >= owner.end_char)]
            if e.label_ == Names.Project and owner is None and places and places[0].start_char - e.start_char >= 2:
                head = text[e.start_char:places[0].start_char]  # 京东方青岛基地 -> 京东方
                if re.fullmatch(f"[{HAN}“”]+", head) and head not in self.lex.divisions:
                    kind = Names.Organization if re.search(r"大学|学院|院$|所$|中心$", head) else Names.Enterprise
                    owner = doc.char_span(e.start_char, places[0].start_char, kind, alignment_mode="expand")
            if owner is not None and e.label_ == Names.Project:
                nested.append(owner)
                out.append(Rel((owner.start_char, owner.end_char, owner.label_), end, Names.invests, None, None, 0.8))
            for place in places:
                if place.end_char - place.start_char < 2:
                    continue
                nested.append(place)
                out.append(Rel(end, (place.start_char, place.end_char, Names.District), Names.locatedIn, None, None, 0.8))
        return out

    @staticmethod
    def with_amounts(sent: Span, rels: list[Rel]) -> list[Rel]:
        m = AMOUNT.search(sent.text)
        if not m or COUNTED.search(sent.text):
            return rels  # 总投资380亿元的42个项目: a total over many projects, not this one's
        amount = yuan(m.group(1), m.group(2))
        return [r._replace(amount=amount) if r.label == Names.invests and r.amount is None else r for r in rels]


def _by_sentence(doc: Doc, spans: list[Span]) -> dict[int, list[Span]]:
    """Spans grouped by the first token of their sentence (spans across a boundary dropped)."""
    starts = [sent.start for sent in doc.sents]
    ends = {sent.start: sent.end for sent in doc.sents}
    out: dict[int, list[Span]] = {}
    for span in spans:
        first = starts[bisect_right(starts, span.start) - 1]
        if span.end <= ends[first]:
            out.setdefault(first, []).append(span)
    return out


@Language.factory("kg_relations", requires=["doc.ents", "doc.sents"], assigns=["doc._.relations"])
def make_relations(nlp: Language, name: str) -> RelationRules:
    return RelationRules(name)
