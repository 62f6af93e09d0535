"""The rules of `kg_relations`, each a small function in spaCy's registry, listed in config.cfg.

Three kinds, run in the order config.cfg lists them:
* sentence rules, `(SentenceContext) -> list[Rel]`: relations a sentence states by its structure
  (post chains, the shape of a name); their verdicts are model features, and the output where no
  model is trained;
* article rules, `(ArticleContext, Group) -> None`: article-level candidates and features for one
  entity (the home district, a section's zone, 区领导 lists, bare government titles);
* finishers, `(RelationExtractor, text, list[Rel], mentions) -> list[Rel]`: the decided relations
  completed (amounts); `mentions` maps a relation end to all mentions of its entity.

Their confidences (where no model is trained) are one table, `confidences` in config.cfg.
Each rule has (text, must find, must not find) cases in tests/test_relations.py.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from spacy.tokens import Doc, Span
from spacy.util import registry

from kg.pipeline.entities import HAN
from kg.pipeline.relations import (
    BODIES,
    SIGNATURES,
    Candidate,
    End,
    Group,
    Instance,
    Rel,
    bucket,
    relation_words,
    yuan,
)
from kg.resolve import canonical_project, norm
from kg.vocab import Names

if TYPE_CHECKING:
    from kg.pipeline.relations import RelationExtractor

CONNECTOR = re.compile(r"^[、，,（）()\s兼]*$")
GOVERNMENT_HEAD = re.compile(r"(省|市|区|县|镇|乡|州|旗)长$")
COMMITTEE_PLACE = re.compile(r"(.+?[省市区县镇乡州旗盟])(?:委|党委|党工委|政府)$")
GOVERNMENT_POST = re.compile(r"(省|市|区|县|镇|乡|州|旗)长$|秘书长$")  # heads, deputies (副…长) and 秘书长
LEADER_LIST = re.compile(r"(区|市|县|省|州|旗|镇)(?:委)?领导")


@dataclass
class SentenceContext:
    """One sentence: its entities (`ents`) and the rule spans inside names (`parts`). Rules add
    the spans they name inside other names to `nested`, and the titles that name no body
    (县长某某) to `bare`, keyed by the person's span."""
    ext: RelationExtractor
    doc: Doc
    text: str
    sent: Span
    ents: list[Span]
    parts: list[Span]
    nested: list[Span]
    bare: dict[tuple[int, int], list[str]]


@dataclass
class ArticleContext:
    """One article's entities, places and candidates; `candidate()` makes or finds one."""
    ext: RelationExtractor
    text: str
    spans: list[Span]
    sents: list[tuple[int, int]]
    groups: dict[str, Group]
    of_span: dict[tuple[int, int], Group]
    places: dict
    rule_rels: list[Rel]
    bare: dict[tuple[int, int], list[str]]
    cands: dict[str, dict[tuple[str, str], Candidate]]
    sections: dict[str, tuple[int, Group] | None] = field(default_factory=dict)
    # (label, head key) -> its candidates in the order made: a rule asks per entity, and a scan
    # of all the article's candidates per entity grows with the square of the entities
    by_head: dict[tuple[str, str], list[Candidate]] = field(default_factory=dict)
    # group key -> its mentions as (start, end, sentence number), and its specificity: nearest_place
    # asks for each pair of an entity and a place
    placed: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)
    specific: dict[str, int] = field(default_factory=dict)

    @cached_property
    def sent_starts(self) -> list[int]:
        return [s for s, _ in self.sents]

    def candidate(self, label: str, h: Group, t: Group) -> Candidate | None:
        if h.key == t.key:
            return None
        heads, tails = SIGNATURES[label]
        if h.type not in heads or t.type not in tails:
            return None
        if label == Names.locatedIn and not h.forms.isdisjoint(self.ext.lex.countries):  # a country lies in no district
            return None
        c = self.cands[label].get((h.key, t.key))
        if c is None:
            c = self.cands[label][(h.key, t.key)] = Candidate(h, t, self.ext.pair_features(self.text, h, t, self.places))
            self.by_head.setdefault((label, h.key), []).append(c)
        return c

    @cached_property
    def zones(self) -> list[tuple[int, Group]]:
        """Every mention of a district other than the home district, its city and province."""
        own = (self.places.get("home"), self.places.get("city"), self.places.get("province"))
        return sorted(((s.start_char, self.of_span[(s.start_char, s.end_char)]) for s in self.spans
                       if s.label_ == Names.District and self.of_span[(s.start_char, s.end_char)] not in own),
                      key=lambda z: z[0])

    @cached_property
    def zone_starts(self) -> list[int]:
        return [z[0] for z in self.zones]

    def section(self, g: Group) -> tuple[int, Group] | None:
        """The zone named last before the entity's first mention (a section's subject), with
        where that mention is."""
        if g.key not in self.sections:
            self.sections[g.key] = None
            zones = self.zones
            if g.type != Names.Person and zones:
                i = bisect_right(self.zone_starts, g.spans[0].start_char - 1) - 1
                while i >= 0 and zones[i][1] is g:
                    i -= 1
                if i >= 0:
                    self.sections[g.key] = zones[i]
        return self.sections[g.key]

    @cached_property
    def headings(self) -> list[tuple[int, Group]]:
        """某某区工委书记某某——: a heading that introduces a zone's leader opens its section."""
        out = []
        for r in self.rule_rels:
            if r.label in (Names.leads, Names.worksFor) and r.tail[2] == Names.District and r.tail[:2] in self.of_span:
                lo, hi = self.sents[bisect_right(self.sent_starts, r.tail[0]) - 1]
                if hi - lo < 60 and not re.search(r"[。！？]", self.text[lo:hi]):
                    out.append((r.tail[0], self.of_span[r.tail[:2]]))
        return sorted(out, key=lambda h: h[0])

    def distance(self, a: Group, b: Group) -> tuple[int, int]:
        """The nearest two mentions of two entities: characters between them (0 where one holds
        the other) and sentences apart."""
        best = (len(self.text), len(self.sents))
        for s0, e0, i0 in self.mentions(a):
            for s1, e1, i1 in self.mentions(b):
                d = (max(0, s0 - e1, s1 - e0), abs(i0 - i1))  # = max(0, max(s0, s1) - min(e0, e1)): spans are not empty
                if d < best:
                    best = d
        return best

    def mentions(self, g: Group) -> list[tuple[int, int, int]]:
        """(start, end, sentence number) of each mention."""
        out = self.placed.get(g.key)
        if out is None:
            starts = self.sent_starts
            out = self.placed[g.key] = [(s.start_char, s.end_char, bisect_right(starts, s.start_char)) for s in g.spans]
        return out

    def specificity(self, g: Group) -> int:
        """1 province, 2 city, 3 county (the lexicon, else a 县 or 旗), 4 a town, street or zone, 5 a village."""
        if (known := self.specific.get(g.key)) is None:
            known = self.specific[g.key] = self._specificity(g)
        return known

    def _specificity(self, g: Group) -> int:
        d = self.ext.division(g)
        if d is not None:
            return d.level
        if any(f.endswith(("村", "社区", "村委", "居委会")) for f in g.forms):
            return 5
        return 3 if any(f.endswith(("县", "旗")) for f in g.forms) else 4

    @cached_property
    def leaders(self) -> dict[str, list[tuple[str, Group]]]:
        """区领导甲、乙: each listed person's level and place, by the person's group key."""
        home, city, province = self.places.get("home"), self.places.get("city"), self.places.get("province")
        text = self.text
        leaders: dict[str, list[tuple[str, Group]]] = defaultdict(list)
        people = {norm(g.text): g for g in self.groups.values() if g.type == Names.Person}
        for m in LEADER_LIST.finditer(text):
            level = m.group(1)
            place = city if level == "市" and not (home and any(f.endswith("市") for f in home.forms)) else home
            if level == "省":
                place = province
            pos = m.end()
            while place is not None:
                name = next((p for p in people if text.startswith(p, pos)), None)
                if name is None:
                    break
                leaders[people[name].key].append((level, place))
                pos += len(name)
                if text[pos:pos + 1] not in ("、", "，", ","):
                    break
                pos += 1
        return leaders


SentenceRule = Callable[[SentenceContext], list[Rel]]
ArticleRule = Callable[[ArticleContext, Group], None]
Finisher = Callable[["RelationExtractor", str, list[Rel], dict[tuple[int, int], list[Span]]], list[Rel]]

F = TypeVar("F", bound=Callable)


def rule(name: str) -> Callable[[F], F]:
    """Registers a rule in spaCy's `misc` registry under `name`, the name config.cfg lists it by."""
    def register(func: F) -> F:
        registry.misc.register(name, func=lambda: func)
        return func
    return register

# -- sentence rules ----------------------------------------------------------------------------
@rule("kg.rel.post_chain.v1")
def post_chain(ctx: SentenceContext) -> list[Rel]:
    """leads / worksFor along each person's chain of posts (区财政局党组书记、局长李志强 -> leads
    区财政局); the titles that name no body (县长某某, 县委副书记、县长某某) go to `ctx.bare`: posts
    of the article's own place."""
    text, sent, ents, parts, bare = ctx.text, ctx.sent, ctx.ents, ctx.parts, ctx.bare
    out: list[Rel] = []
    places = {(s.start_char, s.end_char) for s in parts if s.label_ == Names.District}
    people = [e for e in ents if e.label_ == Names.Person]
    bodies = [e for e in ents if e.label_ in BODIES]
    chains: dict[int, list[tuple[End | None, str]]] = {}
    for p in people:
        items = _chain(ctx.ext.title_re, text, sent.start_char, p.start_char, bodies, people)
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
                named = COMMITTEE_PLACE.match(text, body[0], body[1])
                if place is None and named and named.end(1) - body[0] >= 3:
                    place = (body[0], named.end(1))  # 青禾市委 -> 青禾市
                if place is None and text[body[0]] in "区市县镇乡州旗" \
                        and body[1] - body[0] <= 3:
                    bare.setdefault((p.start_char, p.end_char), []).append(title)
                    continue  # 县委副书记、县长: the head of the (unnamed) county
                body = (place[0], place[1], Names.District) if place else body
            if body is None and GOVERNMENT_POST.search(title):
                bare.setdefault((p.start_char, p.end_char), []).append(title)
            merged.setdefault(body, []).append(title)
        for body, titles in merged.items():
            if body is None:
                continue
            top = any(t in ctx.ext.lex.top_titles for t in titles)
            out.append(Rel((p.start_char, p.end_char, Names.Person), body, Names.leads if top else Names.worksFor,
                           "、".join(titles), None,
                           ctx.ext.confidences["post_chain_top" if top else "post_chain_other"]))
    return out

def _chain(title_re: re.Pattern, text: str, lo: int, person: int, bodies: list[Span],
           people: list[Span]) -> list[tuple[End | None, str]]:
    """Walk left from a person over titles and bodies joined only by connectors. Past
    another person (集团董事长甲、副总经理乙) only that person's body is taken: 乙's post is
    at the body named for 甲, not 甲's title."""
    items: list[tuple[int, int, str, End | None]] = []  # start, end, kind, body
    pos = person
    crossed = False
    while pos > lo:
        title = next((m for m in title_re.finditer(text, max(lo, pos - 8), pos) if m.end() == pos), None)
        body = next((b for b in bodies if b.end_char == pos), None)
        other = next((p for p in people if p.end_char == pos), None) if items else None
        if body is not None:
            items.append((body.start_char, pos, "body", (body.start_char, body.end_char, body.label_)))
            pos = body.start_char
            if crossed:
                break
        elif other is not None and not crossed and items[-1][2] == "title":
            crossed = True
            pos = other.start_char
        elif title is not None:
            if not crossed:
                items.append((title.start(), pos, "title", None))
            pos = title.start()
        elif text[pos - 1] in "）)" and items and (open_ := max(text.rfind("（", lo, pos), text.rfind("(", lo, pos))) > lo \
                and pos - open_ <= 25 and not any(b.start_char > open_ and b.end_char < pos for b in bodies
                                                  if title_re.match(text, b.end_char)):
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


@rule("kg.rel.name_structure.v1")
def name_structure(ctx: SentenceContext) -> list[Rel]:
    """locatedIn / invests from the shape of a name: 京东方青岛基地 -> 京东方 invests, locatedIn 青岛.
    The owner and places inside a name go to `ctx.nested`."""
    doc, text, ents, inner, nested, lex = ctx.doc, ctx.text, ctx.ents, ctx.parts, ctx.nested, ctx.ext.lex
    out: list[Rel] = []
    for e in ents:
        if e.label_ not in (Names.Project, Names.District):
            continue
        end = (e.start_char, e.end_char, e.label_)
        parts = [s for s in inner if e.start_char <= s.start_char and s.end_char <= e.end_char
                 and (s.start_char, s.end_char) != (e.start_char, e.end_char)]
        base_end = e.start_char + len(canonical_project(text[e.start_char:e.end_char])) \
            if e.label_ == Names.Project else e.end_char
        starts = {s.start_char for s in parts if s.label_ == Names.District}
        # the NER's cut inside a name is a guess: it names an owner only up to a place name
        owner = max((s for s in parts if s.start_char == e.start_char and s.end_char < base_end
                     and s.label_ in (Names.Organization, Names.Enterprise)
                     and (s.kb_id_ != "ner" or s.end_char in starts)), key=len, default=None)
        places = [s for s in parts if s.label_ == Names.District and text[s.start_char:s.end_char] not in lex.countries
                  and (owner is None or s.start_char >= owner.end_char)]
        if e.label_ == Names.Project and owner is None and places and places[0].start_char - e.start_char >= 2:
            head = text[e.start_char:places[0].start_char]  # 京东方青岛基地 -> 京东方
            if re.fullmatch(f"[{HAN}“”]+", head) and head not in lex.divisions:
                kind = Names.Organization if re.search(r"大学|学院|院$|所$|中心$", head) else Names.Enterprise
                owner = doc.char_span(e.start_char, places[0].start_char, kind, alignment_mode="expand")
        if owner is not None and e.label_ == Names.Project:
            nested.append(owner)
            out.append(Rel((owner.start_char, owner.end_char, owner.label_), end, Names.invests, None, None,
                           ctx.ext.confidences["name_structure"]))
        for place in places:
            if place.end_char - place.start_char < 2:
                continue
            nested.append(place)
            out.append(Rel(end, (place.start_char, place.end_char, Names.District), Names.locatedIn, None, None,
                           ctx.ext.confidences["name_structure"]))
    return out


# -- article rules -----------------------------------------------------------------------------
@rule("kg.rel.section_zone.v1")
def section_zone(ctx: ArticleContext, g: Group) -> None:
    """An entity lies in, and is invested in by, the zone named last before it (a section's subject)."""
    zone = ctx.section(g)
    if zone is None:
        return
    at, section = zone
    first = g.spans[0].start_char
    where = bisect_right(ctx.sent_starts, at) - 1
    here = bisect_right(ctx.sent_starts, first) - 1
    lines = ctx.text.count("\n", at, first)
    f = {f"section_sents={bucket(here - where)}", f"section_lines={bucket(lines)}",
         f"section_mentions={min(len(section.spans), 3)}"}
    if section.text.endswith(ctx.ext.lex.zone_suffixes):
        f.add("section_is_zone")
    for label in (Names.locatedIn, Names.invests):
        c = ctx.candidate(label, g, section) if label == Names.locatedIn else ctx.candidate(label, section, g)
        if c is not None:
            c.feats |= f | {"section"}


@rule("kg.rel.heading_zone.v1")
def heading_zone(ctx: ArticleContext, g: Group) -> None:
    """某某区工委书记某某——: the zone whose leader a heading introduces holds what follows it."""
    headings = ctx.headings
    i = bisect_right([h[0] for h in headings], g.spans[0].start_char) - 1 if g.type != Names.Person else -1
    if i >= 0 and headings[i][1] is not g:
        zone = headings[i][1]
        section = ctx.section(g)
        for label in (Names.locatedIn, Names.invests):
            c = ctx.candidate(label, g, zone) if label == Names.locatedIn else ctx.candidate(label, zone, g)
            if c is not None:
                c.feats |= {"heading_zone"} | ({"heading_is_section"} if section and zone is section[1] else set())


@rule("kg.rel.home_places.v1")
def home_places(ctx: ArticleContext, g: Group) -> None:
    """Everything lies in the article's home district, its city and province; the home district
    invests in every project."""
    home = ctx.places.get("home")
    sectioned = ctx.section(g) is not None
    for place in (home, ctx.places.get("city"), ctx.places.get("province")):
        if place is not None and (c := ctx.candidate(Names.locatedIn, g, place)) is not None and sectioned:
            c.feats.add("has_section")
    if home is not None and (c := ctx.candidate(Names.invests, home, g)) is not None and sectioned:
        c.feats.add("has_section")


@rule("kg.rel.bare_titles.v1")
def bare_titles(ctx: ArticleContext, g: Group) -> None:
    """区长某某: a title that names no body is a post of the article's own place (home or city)."""
    titles = [t for sp in g.spans for t in ctx.bare.get((sp.start_char, sp.end_char), [])] \
        if g.type == Names.Person else []
    for role, place in (("home", ctx.places.get("home")), ("city", ctx.places.get("city"))):
        if not titles or place is None:
            continue
        level = {f[-1:] for f in place.forms} | {d.name[-1:] for d in [ctx.ext.division(place)] if d}
        for label in (Names.leads, Names.worksFor):
            c = ctx.candidate(label, g, place)
            if c is not None:
                c.feats |= {f"bare={t}" for t in titles} | {f"bare_{role}"}
                c.feats |= {"bare_gov_head_match" for t in titles if GOVERNMENT_HEAD.search(t) and t[-2] in level}
                c.feats |= {"bare_deputy_match" for t in titles if "副" in t and t[-2:-1] in level}
                c.article = Instance(set(), (g.end, place.end), "、".join(titles))


@rule("kg.rel.leader_lists.v1")
def leader_lists(ctx: ArticleContext, g: Group) -> None:
    """区领导甲、乙、丙: each listed person works for the place of the list's level."""
    for level, place in ctx.leaders.get(g.key, []):
        c = ctx.candidate(Names.worksFor, g, place)
        if c is not None:
            c.feats.add(f"leader_list={level}")
            c.article = Instance(set(), (g.end, place.end), f"{level}领导")


@rule("kg.rel.nearest_place.v1")
def nearest_place(ctx: ArticleContext, g: Group) -> None:
    """Where an entity lies among all the places it could: how near each candidate place is
    (characters, sentences, rank among the candidates) and how specific (rank; a finer place
    nearer). The news names a project's nearest place (its town, its park) and the article's
    county; the city and province only where the text says so. Runs after the rules that
    propose the entity's places."""
    if g.type == Names.Person:
        return
    cands = ctx.by_head.get((Names.locatedIn, g.key), [])
    if not cands:
        return
    dists = [ctx.distance(g, c.tail) for c in cands]
    specs = [ctx.specificity(c.tail) for c in cands]
    near = sorted(set(dists))
    fine = sorted(set(specs), reverse=True)
    places = [ctx.places.get(r) for r in ("home", "city", "province")]
    for c, dist, spec in zip(cands, dists, specs):
        chars, sents = dist
        rank = min(near.index(dist), 3)
        level = min(fine.index(spec), 2)
        role = next((r for r, p in zip(("home", "city", "province"), places) if p is c.tail), "other")
        c.feats |= {f"near_rank={rank}", f"spec_rank={level}", f"near_spec={rank}{level}", f"near_role={rank}{role}",
                    f"place_sents={bucket(sents)}", f"place_chars={bucket(chars)}", f"spec={spec}"}
        if g.type == Names.District:  # a town lies in its county, not (in the gold) in its city
            c.feats.add(f"spec_step={max(-1, min(ctx.specificity(g) - spec, 3))}")
        nearer = [s for d, s in zip(dists, specs) if d < dist]
        if any(s > spec for s in nearer):
            c.feats.add("finer_nearer")  # a finer place nearer: 甲园区 in 甲镇, both named with the project
        if any(s < spec for s in nearer):
            c.feats.add("coarser_nearer")


# -- finishers --------------------------------------------------------------------------------
@rule("kg.rel.amounts.v1")
def with_amounts(ext: RelationExtractor, text: str, rels: list[Rel],
                 mentions: dict[tuple[int, int], list[Span]] | None = None) -> list[Rel]:
    """An amount goes on the invests relations of the one project it precedes or follows
    ("投资5亿元的甲项目，投资0.6亿元的乙项目"), at the relation's own mention or else the first
    of the project's other mentions that has one; a total over several projects goes nowhere.
    Where a company invests too, the amount is the company's (the district hosts it)."""
    patterns = amount_patterns(tuple(ext.words["amount_words"]), tuple(ext.words["counters"]))
    mentions = mentions or {}
    amounts: dict[tuple[int, int], int | None] = {}
    project = {r.tail[:2]: ms[0].start_char if (ms := mentions.get(r.tail[:2])) else r.tail[0]
               for r in rels if r.label == Names.invests}
    with_company = {project[r.tail[:2]] for r in rels if r.label == Names.invests and r.head[2] == Names.Enterprise}
    for r in rels:
        if r.label == Names.invests and r.tail[:2] not in amounts:
            others = [(s.start_char, s.end_char) for s in mentions.get(r.tail[:2], [])]
            amounts[r.tail[:2]] = next((a for start, end in [r.tail[:2], *others]
                                        if (a := project_amount(text, start, end, patterns)) is not None), None)
    return [r._replace(amount=amounts.get(r.tail[:2])) if r.label == Names.invests and r.amount is None
            and (r.head[2] == Names.Enterprise or project[r.tail[:2]] not in with_company) else r
            for r in rels]


class AmountPatterns(NamedTuple):
    before: re.Pattern   # 投资5亿元的|甲项目
    after: re.Pattern    # 甲项目建设，该项目总投资5亿元
    counted: re.Pattern  # 12个(项目)


@lru_cache(maxsize=8)
def amount_patterns(amount_words: tuple[str, ...], counters: tuple[str, ...]) -> AmountPatterns:
    """The amount patterns over the word lists (relation_words.json: amount_words, counters)."""
    amount = f"(?:{'|'.join(map(re.escape, amount_words))})" + r"(?:约|超|达|近|为)?(\d+(?:\.\d+)?)\s*(亿|万)?元"
    return AmountPatterns(re.compile(amount + r"(?:的|建设的|打造的)?[“”\"]?$"),
                          re.compile(r"[^，。；、,;]{0,6}?[，,（(：:]?(?:该项目|项目|其)?" + amount),
                          re.compile(r"[\d一二三四五六七八九十百千]+" + f"(?:{'|'.join(map(re.escape, counters))})"))


def project_amount(text: str, start: int, end: int, patterns: AmountPatterns | None = None) -> int | None:
    """The amount written right before (投资5亿元的|甲) or right after (甲|项目，总投资5亿元) one
    project mention, within its clause; None where the clause counts projects (总投资…的3个项目).
    `patterns`: default, those of kg/data/relation_words.json."""
    if patterns is None:
        words = relation_words()
        patterns = amount_patterns(tuple(words["amount_words"]), tuple(words["counters"]))
    AMOUNT_BEFORE, AMOUNT_AFTER, COUNTED = patterns  # noqa: N806  (the patterns' names)
    clause_start = max(text.rfind(c, 0, start) for c in "，。；！？\n、：") + 1
    before = text[clause_start:start]
    m = AMOUNT_BEFORE.search(before)
    if m and not COUNTED.search(before[m.end():]):
        return yuan(m.group(1), m.group(2))
    in_list = clause_start > 0 and text[clause_start - 1] == "、"  # 甲、乙，总投资5亿元: the list's total
    m = None if in_list else AMOUNT_AFTER.match(text, end, min(len(text), end + 30))
    if m and not COUNTED.search(text[end:m.start(1)]):
        return yuan(m.group(1), m.group(2))
    return None
