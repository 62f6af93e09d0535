"""General-knowledge lexicons: titles, name suffixes, surnames, China's administrative divisions.

The divisions come from the `cpca` package's adcode table (national statistics codes), so
the hierarchy (county -> city -> province) is data, not hand-typed. Nothing here is taken
from the sample articles.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

DATA = Path(__file__).with_name("data")
_AUTONOMY = re.compile(r"(壮族|回族|维吾尔|藏族|蒙古族|朝鲜族|土家族|苗族|彝族|侗族|布依族|瑶族|白族|哈尼族|"
                       r"傣族|黎族|羌族|傈僳族|佤族|拉祜族|纳西族|景颇族|畲族|土族|撒拉族|仫佬族|毛南族|"
                       r"仡佬族|各族|哈萨克|柯尔克孜|满族|达斡尔族|鄂温克族|锡伯族|保安族|东乡族|裕固族)*自治(区|州|县|旗)$")


@dataclass(frozen=True)
class Division:
    name: str          # official name, e.g. 青岛市
    code: str          # 12-digit adcode
    level: int         # 1 province, 2 city, 3 county

    @property
    def parent_code(self) -> str | None:
        if self.level == 1:
            return None
        return (self.code[:2] + "0" * 10) if self.level == 2 else (self.code[:4] + "0" * 8)


@dataclass(frozen=True)
class Lexicon:
    top_titles: frozenset[str]
    other_titles: frozenset[str]
    org_suffixes: tuple[str, ...]          # longest first
    enterprise_suffixes: tuple[str, ...]
    project_suffixes: tuple[str, ...]
    project_phase: tuple[str, ...]
    zone_suffixes: tuple[str, ...]
    bodies: frozenset[str]
    not_bodies: frozenset[str]             # words that end like a body but are not one (布局, 干部)
    countries: frozenset[str]
    surnames: frozenset[str]
    common_surnames: frozenset[str]        # the ~120 commonest single-character surnames
    divisions: dict[str, Division]         # every surface form (full and short) -> division
    by_code: dict[str, Division]

    @property
    def titles(self) -> frozenset[str]:
        return self.top_titles | self.other_titles

    def parent(self, name: str) -> Division | None:
        div = self.divisions.get(name)
        code = div.parent_code if div else None
        return self.by_code.get(code) if code else None

    def is_surname_start(self, name: str) -> bool:
        return name[:1] in self.surnames or name[:2] in self.surnames


def short_form(name: str, level: int) -> str | None:
    """青岛市 -> 青岛, 山东省 -> 山东, 广西壮族自治区 -> 广西, county-level 青州市 -> 青州;
    counties and districts keep their full name (城区, 郊区 would be common words)."""
    if level > 2 and not (name.endswith("市") and len(name) >= 3):
        return None
    short = _AUTONOMY.sub("", name)
    if short == name:
        short = re.sub(r"(省|市|地区|盟|特别行政区)$", "", name)
    return short if len(short) >= 2 and short != name else None


def dictionary_tag(word: str) -> str | None:
    """The part of speech jieba's dictionary gives a word (None if it is not listed)."""
    import jieba.posseg

    return jieba.posseg.dt.word_tag_tab.get(word)


def _common_word(word: str) -> bool:
    """In jieba's dictionary as something other than a place (合作, 东方 as county-level cities)."""
    tag = dictionary_tag(word)
    return tag is not None and not tag.startswith("ns")


@cache
def _divisions() -> tuple[dict[str, Division], dict[str, Division]]:
    table = resources.files("cpca") / "resources" / "adcodes.csv"
    forms: dict[str, Division] = {}
    by_code: dict[str, Division] = {}
    with table.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            code = row["adcode"]
            level = 1 if code[2:] == "0" * 10 else 2 if code[4:] == "0" * 8 else 3
            div = Division(row["name"], code, level)
            by_code[code] = div
            if level == 3 and len(div.name) <= 2:
                continue  # 城区, 郊区, 西区: two-character county names are common words
            short = short_form(div.name, level)
            if short and level == 3 and _common_word(short):
                short = None
            for form in (div.name, short):
                # the higher level wins a shared surface form (吉林 the province over the city)
                if form and (form not in forms or forms[form].level > level):
                    forms[form] = div
    return forms, by_code


def read_raw(path: Path) -> dict:
    """The word lists of a lexicon file, as JSON (a missing or broken file names itself)."""
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable lexicon ({err})") from None


def from_raw(raw: dict) -> Lexicon:
    """A Lexicon from word lists (kg/data/lexicon.json's shape) plus cpca's division table."""
    longest = lambda xs: tuple(sorted(set(xs), key=lambda s: (-len(s), s)))
    forms, by_code = _divisions()
    return Lexicon(
        top_titles=frozenset(raw["top_titles"]),
        other_titles=frozenset(raw["other_titles"]),
        org_suffixes=longest(raw["org_suffixes"]),
        enterprise_suffixes=longest(raw["enterprise_suffixes"]),
        project_suffixes=longest(raw["project_suffixes"]),
        project_phase=longest(raw["project_phase"]),
        zone_suffixes=longest(raw["zone_suffixes"]),
        bodies=frozenset(raw["bodies"]),
        not_bodies=frozenset(raw["not_bodies"]),
        countries=frozenset(raw["countries"]),
        surnames=frozenset(raw["surnames"]) | frozenset(raw["compound_surnames"]),
        divisions=forms,
        by_code=by_code,
        common_surnames=frozenset(raw["surnames"][:120]),  # the list is ordered by frequency
    )


@cache
def load() -> Lexicon:
    """The shipped lexicon (kg/data/lexicon.json)."""
    return from_raw(read_raw(DATA / "lexicon.json"))
