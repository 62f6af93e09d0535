"""Mentions -> entities within one article: one entity per real thing, every form kept as alias.

Forms are merged when the text itself says they are the same thing:
* a parenthesis right after a name: 区工商联（民营经济发展局）, 某某有限责任公司(简称某某);
* a short zone form that ends exactly one longer District name: 新区 -> 西海岸新区;
* a District name led by its city: 青岛西海岸新区 -> 西海岸新区;
* a project with a phase or a generic tail: 地铁6号线一期 -> 地铁6号线, 迁改项目 -> 迁改.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from functools import lru_cache

from kg import lexicon
from kg.types import Entity, Mention
from kg.vocab import Names

SPACE = re.compile(r"\s+")
# when a name's mentions vote equally for two types, the more specific wins; a type of the
# ontology not listed here comes after these
TYPE_PREFERENCE = (Names.Person, Names.Project, Names.Enterprise, Names.Organization, Names.District)


def _preference(etype: str) -> int:
    return TYPE_PREFERENCE.index(etype) if etype in TYPE_PREFERENCE else len(TYPE_PREFERENCE)


@lru_cache(maxsize=1 << 16)  # a name is normalised again in every stage that compares names
def norm(s: str) -> str:
    """The scorer's identity of a name: NFKC, no whitespace."""
    return SPACE.sub("", unicodedata.normalize("NFKC", s or ""))


def _top(counter: Counter) -> str:
    """`counter.most_common(1)[0][0]` (the first of the commonest, in insertion order) without its heap."""
    return max(counter, key=counter.__getitem__)


def canonical_project(name: str) -> str:
    """Strip phases and generic tails while a name remains: 校区项目二期 -> 校区."""
    lex = lexicon.load()
    changed = True
    while changed:
        changed = False
        for phase in lex.project_phase:
            rest = name[: -len(phase)]
            if name.endswith(phase) and len(rest) >= 3 and not (
                    rest.endswith(lex.org_suffixes + lex.enterprise_suffixes) and not rest.endswith(lex.project_suffixes)):
                name, changed = rest, True  # but 某某学院二期 stays: 某某学院 is its owner
                break
    return name


class Resolver:
    def __init__(self, text: str, mentions: list[Mention]):
        self.text = text
        self.lex = lexicon.load()
        # the suffix lists are tuples (longest first, for endswith): one set for `_drop`'s lookups
        self.generic = frozenset(self.lex.zone_suffixes + self.lex.project_suffixes + self.lex.org_suffixes)
        self.parent: dict[str, str] = {}           # union-find over normalised forms
        self.surface: dict[str, Counter] = defaultdict(Counter)
        self.types: dict[str, Counter] = defaultdict(Counter)
        self.mentions: dict[str, list[Mention]] = defaultdict(list)
        for m in mentions:
            key = norm(m.text)
            if not key:
                continue
            self.surface[key][m.text.strip()] += 1
            self.types[key][m.type] += 1
            self.mentions[key].append(m)
            self.parent.setdefault(key, key)
        self._link_parentheses(mentions)
        self._link_projects()
        self._link_districts()

    # -- union-find -----------------------------------------------------------------------
    def find(self, k: str) -> str:
        while self.parent[k] != k:
            self.parent[k] = self.parent[self.parent[k]]
            k = self.parent[k]
        return k

    def union(self, keep: str, other: str) -> None:
        a, b = self.find(keep), self.find(other)
        if a != b:
            self.parent[b] = a

    def add_form(self, form: str, like: str) -> str:
        key = norm(form)
        if key not in self.parent:
            self.parent[key] = key
            self.surface[key][form] += 1
            self.types[key].update(self.types[like])
        return key

    # -- linking rules --------------------------------------------------------------------
    def _link_parentheses(self, mentions: list[Mention]) -> None:
        for m in mentions:
            after = self.text[m.end:m.end + 30]
            par = re.match(r"[（(]([^（）()]{2,20})[）)]", after)
            if not par or m.type == Names.Person:
                continue
            inner = re.sub(r"^(简称|以下简称|下称)", "", par.group(1)).strip("“”\"")
            key = norm(m.text)
            if par.group(1).startswith(("简称", "以下简称", "下称")):
                # the short form is what the text goes on to use: it names the entity
                short = self.add_form(inner, key)
                self.union(short, key)
            elif self.lex.divisions.get(inner) is None and not re.search(r"\d", inner) and not (
                    norm(inner) in self.types and _top(self.types[norm(inner)]) == Names.District):
                # 桂林（灵川）…: a place in brackets is where, not another name
                full = self.add_form(m.text + par.group(0), key)
                self.union(key, full)
                if norm(inner) in self.parent:
                    self.union(key, norm(inner))

    def _link_projects(self) -> None:
        for key in list(self.parent):
            if _top(self.types[key]) != Names.Project:
                continue
            base = canonical_project(key)
            if base != key:
                self.union(self.add_form(base, key), key)

    def _link_districts(self) -> None:
        districts = [k for k in self.parent if _top(self.types[k]) == Names.District]
        for k in districts:
            if k.endswith(self.lex.zone_suffixes) and k not in self.lex.divisions:
                longer = [d for d in districts if d != k and d.endswith(k)]
                if longer:  # 新区 -> 西海岸新区: prefer the shortest longer form (青岛西海岸新区 links below)
                    self.union(min(longer, key=len), k)
            for d in districts:  # an article names tens of districts: all pairs is cheap
                if d != k and k.endswith(d) and k[: len(k) - len(d)] in self.lex.divisions:
                    self.union(d, k)  # 青岛西海岸新区 -> 西海岸新区
                if d != k and k[len(d):] in ("县", "区", "市", "镇", "乡") and k.startswith(d) and len(d) >= 2 \
                        and self.lex.divisions.get(d) is None:
                    # 保康 = 保康县: the text's own short form of a county (not in the lexicon)
                    more = sum(self.surface[k].values()) > sum(self.surface[d].values())
                    self.union(k if more else d, d if more else k)
                if d != k and self.lex.divisions.get(d) is not None and self.lex.divisions.get(d) == self.lex.divisions.get(k):
                    self.union(d if len(d) < len(k) else k, k if len(d) < len(k) else d)  # 胶州 = 胶州市

    # -- results --------------------------------------------------------------------------
    def _groups(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for k in self.parent:
            groups[self.find(k)].append(k)
        return groups

    def entities(self) -> list[Entity]:
        out = []
        self._name: dict[str, str] = {}
        for root, keys in sorted(self._groups().items()):
            types: Counter[str] = Counter()
            for k in keys:
                types.update(self.types[k])
            etype = min(types, key=lambda t: (-types[t], _preference(t), t))
            forms = {_top(self.surface[k]): k for k in keys}
            name = _top(self.surface[root])
            if etype == Names.Project:
                name = min(forms, key=lambda f: (len(norm(f)), f))
            if etype in (Names.Organization, Names.Enterprise) and len(keys) > 1:
                # the bare short name, not 区工商联（民发局）
                bare = [f for f in forms if "(" not in norm(f)]
                name = max(bare, key=lambda f: (sum(self.surface[forms[f]].values()), len(f), f), default=name)
            mentions = sorted((m for k in keys for m in self.mentions[k]), key=lambda m: m.start)
            if not mentions and etype == Names.Project:
                continue
            if self._drop(name, etype):
                continue
            aliases = sorted(f for f in forms if norm(f) != norm(name))
            out.append(Entity(name, etype, aliases, mentions, confidence=0.9 if len(mentions) > 1 else 0.7))
            for k in keys:
                self._name[k] = name
        return out

    def _drop(self, name: str, etype: str) -> bool:
        """Generic words are not entities: a bare 新区, 项目, 商会."""
        key = norm(name)
        return len(key) < 2 or key in self.generic

    def name_of(self, surface: str) -> str | None:
        key = norm(surface)
        if key not in self.parent:
            return None
        return self._name.get(self.find(key)) or self._name.get(key)
