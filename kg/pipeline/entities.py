"""`kg_entities`: candidate mentions from named rules and the statistical NER, filtered and
arbitrated into `doc.ents`.

Every rule and filter is a small function in spaCy's registry (`kg.entities.*`), chosen and
named in config.cfg ([components.kg_entities.rules] / [.filters]); the rule's name there is the
finding component, kept in each span's `id_` (and `kb_id_`). Arbitration between overlapping
candidates follows one confidence table ([components.kg_entities.confidence]): the more
trusted finder wins, then the longer span. The word lists come in at `initialize`
(kg/data/lexicon.json by default) and are written by `to_disk`, so a saved pipeline carries them.
Rules scan the doc's text (kg.pipeline.text: built once) and map char offsets to tokens, so they
work with any segmenter.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import registry

from kg import lexicon
from kg.pipeline.ner import SPANS_KEY as NER_KEY
from kg.pipeline.text import Tagger, doc_text
from kg.vocab import Names

HAN = r"\u4e00-\u9fff"
RULES_KEY = "kg_rules"

STOP_FLAGS = ("p", "c", "u", "d", "r", "t", "f", "y", "e", "o", "x", "w", "z", "ad", "i")  # jieba POS that end a name
GENERIC_TAIL = re.compile(r"(建设|布局|部署|发展|水平|精神|格局|特色化|体系|机制|模式|方法|清单|工作)$|^(深化|推进|加快|全面|准确|紧紧)")
COUNT_AFTER = re.compile(r"(?:共|合计|总计)?[\d一二三四五六七八九十百]+(?:个|项|批)")
DIVISION_END = re.compile("管理区|[市县镇乡村州盟旗]")
RELATIVE = ("区", "市", "县", "省", "镇", "乡", "州", "旗")  # a level standing for "this …" (县委 = this county's)
ROAD = re.compile(r"[东西南北中]?[一二三四五六七八九十]路(?![线径途上])")
PRODUCTION = ("生产", "制造", "加工", "研发", "利用", "研制", "种植", "养殖")  # verbs a product project is named by
COMPANY_TRADES = ("投资", "建设", "发展", "开发", "控股", "实业", "置业", "建工")  # governors elsewhere
# a list of companies: 甲、乙等(一大批)企业; 甲集团、乙、丙公司 (two items or more with a company's ending)
COMPANY_LIST = re.compile(r"((?:[^、，,。；;：:\s“”]{2,12}、)+[^、，,。；;：:\s“”等]{2,12})"
                          r"(等[^，。；、]{0,10}?(?:企业|巨头|公司|集团|龙头))?")
CITY_ZONES = ("科技城", "科学城")  # a zone (District) or, being built, a Project (ANNOTATION.md)
LIST_ITEM_HEAD = re.compile(f"(?<=[、：:])[{HAN}]{{1,3}}$")  # the start of a list item, up to three characters short
TIME_WORD = re.compile(r"[年月日天时期前后今来代初末底夜晨春夏秋冬]$|^(?:目前|当前|现在|近日|近期|此前|过去|未来|同时|此时)$")
CAPACITY = re.compile(r"万?(?:吨|千瓦|兆瓦|台|套|平方米|立方米|亩|件|辆)")
# a list of projects: 甲、乙和丙等(3个)(重点)项目; 项目12项，具体为：甲、乙、丙。
_ITEM = r"[^、，,。；;：:\s“”]{2,30}"
PROJECT_LISTS = (re.compile(rf"((?:{_ITEM}、)+{_ITEM}(?:和{_ITEM})?)等(?:\d+|[一二三四五六七八九十]+)?[个批]?(?:重点|重大|重特大)?项目"),
                 re.compile(rf"项目[^。；：:]{{0,12}}[：:]((?:{_ITEM}、)+{_ITEM})(?=[。；])"))
PROJECT_PEERS = re.compile(rf"((?:{_ITEM}、)+{_ITEM})")  # a list of which two items or more end like projects
LIST_STRETCH = re.compile(r"[^，,。；;：:\s“”]+")  # no list item crosses these characters
BODY_PAIR = re.compile(r"委(?=[区市县省镇乡州旗]?(?:人民)?(?:政府|人大|政协)$)")
# a news outlet in a source line, a dateline or a byline: 来源：某某网, 某某日报讯, 某某报记者
OUTLET_END = r"(?:新闻网|日报|晚报|在线|客户端|新闻|电视台|报|网|app|APP)"  # longer first: 某某新闻网
OUTLET_RES = (re.compile(rf"来源[：:]\s*([{HAN}A-Za-z0-9·]{{1,10}}?{OUTLET_END})"),
              re.compile(rf"(?m)(?:^|/)[\s【]*([{HAN}A-Za-z0-9·]{{1,10}}?{OUTLET_END})(?=[^\s，。]{{0,10}}讯)"),
              re.compile(rf"(?<![{HAN}A-Za-z0-9·])([{HAN}A-Za-z0-9·]{{1,8}}?{OUTLET_END})(?=(?:全媒体)?记者)"))
OUTLET_NAME_END = ("新闻网", "日报", "晚报", "电视台", "报社")  # endings only an outlet has
NAME_TAGS = ("ns", "nr", "nz", "n", "nt", "j")
PUNCT_END = set("，。；：！？、,.;:!?）)”\n ")
# compiled once: the rules and filters try these tens of thousands of times on 100k characters
NAME_CHAR = re.compile(rf"[{HAN}A-Za-z0-9（）()“”·]")  # what left_extend walks left over
NAME_LAST = re.compile(rf"[{HAN}A-Za-z0-9）)”]")  # a name's last character, before its suffix
ORDINAL = re.compile(r"第[\d一二三四五六七八九十百]+[届次期批]")
COUNT_WORD = re.compile(r"\d+[个大项家所条批类]?|[一二三四五六七八九十百千万两几多]+[个大项家所条批类]")
AMOUNT = re.compile(r"[\d.]*[十百千万亿]*[美欧日港]?元")
NUMBER = re.compile(r"[\d.]+")
NUMERAL = re.compile(r"[\d一二三四五六七八九十]")
NUMERAL_WORD = re.compile(r"[\d一二三四五六七八九十百千万亿]+[座个批家所]?")
RELATIVE_HEAD = re.compile(r"^[区市县镇乡省]")
SPECIFIC_MARK = re.compile(r"[“”《》A-Za-z]")
SPACE = re.compile(r"\s")
PLACE_IN_NAME = re.compile(rf"[{HAN}]{{0,8}}?(?:集团|公司|总部|研究院|设计院|银行)")
NER_PLURAL = re.compile(r"(企业|家|等|个|强)$|\d+家")
PERSON_CHARS = re.compile(f"[{HAN}·]+")
NOT_PERSON_END = re.compile(r"[化性率区省市县]$")
JOINED = re.compile(r"[和与及、]")
COMPANY_END = re.compile(r"(公司|集团|银行)$")


def _list_stretches(text: str) -> list[tuple[int, int]]:
    """The stretches of text between separators that hold a 、: where a list's items can be."""
    return [(m.start(), m.end()) for m in LIST_STRETCH.finditer(text) if "、" in m.group()]


def _in_lists(pattern: re.Pattern, text: str, lists: list[tuple[int, int]], reach: int = 0) -> Iterator[re.Match]:
    """`pattern.finditer(text)` for a list pattern whose matches start in one of `lists` and end
    at most `reach` characters past it: the rest of the text (most of it) is not scanned."""
    pos = 0
    for s, e in lists:
        for m in pattern.finditer(text, max(pos, s), e + reach):
            if m.start() >= e:
                break
            yield m
            pos = m.end()


@dataclass(frozen=True)
class Cand:
    start: int
    end: int
    label: str
    source: str  # the rule's name in config.cfg: arbitration ranks by its confidence


@dataclass(frozen=True)
class RuleWords:
    """The rules' own word lists (kg/data/lexicon.json, "entity_rules")."""
    governors: frozenset[str]       # a name never extends left past one of these (推动, 举行, 在…)
    leading_verbs: frozenset[str]   # dropped from the front of a name (建设, 新建…)
    strong_zones: frozenset[str]    # zone words that only follow a proper name (街道, 开发区…)
    measures: frozenset[str]        # classifiers: 个, 项, 家…
    common_place_words: frozenset[str]  # 新区, 城区: no District on their own
    loose_bodies: frozenset[str]    # kinds of body that need a specific name in front (商会, 中心…)
    buildings: tuple[str, ...]      # venues that are projects whatever their prefix
    generic: frozenset[str]         # descriptive words that make no name (重点, 智慧, 美丽…)
    division_continues: frozenset[str]  # after 村/市…: the ending starts a longer word (村民, 市级)
    division_before: frozenset[str]     # may stand right before a division's name (在, 和, 县…)
    not_in_division_name: frozenset[str]  # never inside a two-character division name (我, 全…)
    transliteration: frozenset[str]  # characters that spell foreign names (克林顿, 阿马特)
    needs_name: frozenset[str]      # project endings that need a specific name in front (项目, 改造…)

    @classmethod
    def from_raw(cls, raw: dict) -> RuleWords:
        sets: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in raw.items() if not k.startswith("_")}
        sets["leading_verbs"] |= sets["governors"]
        sets["not_in_division_name"] |= sets["division_before"]
        return cls(**{k: v for k, v in sets.items() if k != "buildings"},
                   buildings=tuple(raw["buildings"]))


Found = tuple[int, int, str]  # start, end, label: what a rule proposes
Rule = Callable[["EntityRules", Doc], Iterable[Found]]
# proposes spans inside the chosen entities (an owner at the head of a project's name)
NestedRule = Callable[["EntityRules", Doc, list[Span]], Iterable[Found]]
Filter = Callable[["EntityRules", str, Cand], bool]  # False drops the candidate


class EntityRules:
    def __init__(self, nlp: Language, name: str, label_map: dict[str, str], rules: dict[str, Rule],
                 filters: dict[str, Filter], confidence: dict[str, float],
                 nested: dict[str, NestedRule] | None = None):
        self.name = name
        self.host = nlp  # nested rules may use another component's model (kg_ner)
        self.nested = nested or {}
        self.vocab = nlp.vocab
        self.make_doc_pipe = lambda texts: (nlp.make_doc(t) for t in texts)
        self.label_map = label_map  # labels of an upstream spaCy ner (zh_core_web_*) -> ours
        self.rules, self.filters, self.confidence = rules, filters, confidence
        unranked = (set(rules) | set(self.nested)) - set(confidence)
        if unranked:
            raise ValueError(f"kg_entities: no confidence for rule(s) {', '.join(sorted(unranked))}")
        self.raw = lexicon.read_raw(lexicon.DATA / "lexicon.json")  # until initialize/from_disk say otherwise

    @cached_property
    def lex(self) -> lexicon.Lexicon:
        return lexicon.from_raw(self.raw)

    @cached_property
    def words(self) -> RuleWords:
        return RuleWords.from_raw(self.raw["entity_rules"])

    def _set_raw(self, raw: dict) -> None:
        self.raw = raw
        for attr in ("lex", "words", "_suffix_re", "_lexicon_matcher", "_name_res", "_title_re", "_post_end_re"):
            self.__dict__.pop(attr, None)  # rebuilt from the new word lists on first use

    def initialize(self, get_examples=None, *, nlp: Language | None = None, lexicon_data: dict | None = None) -> None:
        """Word lists: `lexicon_data` (from [initialize.components.kg_entities]) or the shipped file."""
        self._set_raw(lexicon_data or lexicon.read_raw(lexicon.DATA / "lexicon.json"))

    def to_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "lexicon.json").write_text(json.dumps(self.raw, ensure_ascii=False, indent=1), encoding="utf-8")

    def from_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> EntityRules:
        self._set_raw(lexicon.read_raw(Path(path) / "lexicon.json"))
        return self

    @cached_property
    def _posseg(self) -> Tagger:
        return Tagger()

    @cached_property
    def _suffix_re(self) -> re.Pattern:
        lex = self.lex
        suffixes = {s: Names.Project for s in lex.project_suffixes}
        suffixes |= {s: Names.Organization for s in lex.org_suffixes}
        suffixes |= {s: Names.Enterprise for s in lex.enterprise_suffixes}
        suffixes |= {s: Names.District for s in lex.zone_suffixes}
        self._suffix_type = suffixes
        self._suffix_lens = sorted({len(x) for x in suffixes}, reverse=True)
        alts = "|".join(map(re.escape, sorted(suffixes, key=len, reverse=True)))
        return re.compile(f"(?:{alts})")

    @cached_property
    def _lexicon_matcher(self) -> PhraseMatcher:
        """Divisions, countries and central bodies (thousands of names: a PhraseMatcher, not a regex)."""
        matcher = PhraseMatcher(self.vocab)
        places = sorted(n for n in set(self.lex.divisions) | self.lex.countries if len(n) >= 2)
        matcher.add(Names.District, list(self.make_doc_pipe(places)))
        matcher.add(Names.Organization, list(self.make_doc_pipe(sorted(self.lex.bodies))))
        return matcher

    @cached_property
    def _name_res(self) -> tuple[re.Pattern, re.Pattern]:
        """A surname and one or two characters; the same at a paragraph start before ： (a speaker)."""
        surname = "|".join(sorted(self.lex.surnames, key=len, reverse=True))
        return (re.compile(rf"(?:{surname})[{HAN}]{{1,2}}"),
                re.compile(rf"(?m)^[　 ]*((?:{surname})[{HAN}]{{1,2}})[：:]"))

    @cached_property
    def _post_end_re(self) -> re.Pattern:
        """A word that ends in a post (区委书记, 副县长): no name runs back over it."""
        posts = [t for t in self.lex.titles if len(t) >= 2 and (t in self.lex.top_titles or t.startswith("副"))]
        return re.compile(f"(?:{'|'.join(map(re.escape, sorted(posts, key=len, reverse=True)))})$")

    @cached_property
    def _title_re(self) -> re.Pattern:
        titles = sorted(self.lex.titles, key=len, reverse=True)
        return re.compile("|".join(map(re.escape, titles)))

    # -- candidate generators -------------------------------------------------------------
    def lexicon_cands(self, doc: Doc, text: str) -> list[Found]:
        out = []
        for match_id, s, e in self._lexicon_matcher(doc):
            start, end = doc[s].idx, doc[e - 1].idx + len(doc[e - 1])
            name = text[start:end]
            post_after = self.vocab.strings[match_id] == Names.Organization and self._title_re.match(text, end)
            if name in self.words.common_place_words or (len(name) <= 3 and not post_after
                                                         and not self._on_word_bounds(text, start, end)):
                continue  # 迁安 inside 搬迁安置 (but 县委 of 县委书记 is the body)
            out.append((start, end, self.vocab.strings[match_id]))
        return out

    def _on_word_bounds(self, text: str, start: int, end: int) -> bool:
        lo, hi = self._posseg.narrow(text, max(0, start - 4), min(len(text), end + 4), start, end)
        bounds, pos = {lo}, lo
        for w in self._posseg.cut(text[lo:hi]):
            pos += len(w.word)
            bounds.add(pos)
        return start in bounds and end in bounds

    def left_extend(self, text: str, end: int, limit: int = 20, body: bool = False, company: bool = False,
                    place: bool = False) -> int:
        """Start of the name ending at `end`: walk left over words until a governing word,
        punctuation, a function word (jieba POS) or a phase marker ends it; then drop
        leading verbs (推动…, 擦亮…): a name does not start with one."""
        lo = end
        while lo > 0 and end - lo < limit and NAME_CHAR.match(text, lo - 1):
            lo -= 1
        words = [(w.word, w.flag) for w in self._posseg.cut(text[lo:end])]
        if lo > 0 and end - lo >= limit and words:
            words = words[1:]  # the window may have cut a word in two
        kept: list[tuple[str, str]] = []
        i = len(words)
        while i > 0:
            i -= 1
            word, flag = words[i]
            if word in ("）", ")", "”"):  # a short bracketed or quoted part: 大学(华东), 国药“数字”
                opener = {"）": "（", ")": "(", "”": "“"}[word]
                j = next((k for k in range(i - 1, max(-1, i - 6), -1) if words[k][0] == opener), None)
                if j is not None and j > 0:
                    kept[:0] = words[j:i + 1]
                    i = j
                    if words[j - 1][1] == "f" and words[j - 1][0] not in self.words.governors:
                        kept.insert(0, words[j - 1])  # 西部（某地）科学城: a direction heads the name
                        i = j - 1
                    continue
                if j == 0 and opener == "“":
                    kept[:0] = words[j:i + 1]
                    break
            if word == "“":
                break
            if word in RELATIVE:
                kept.insert(0, (word, flag))  # 县政协, 镇党委: a relative marker starts the name
                prev = words[i - 1] if i else ("", "x")
                if prev[1].startswith(STOP_FLAGS) or prev[0] in self.words.governors or word != "区" and prev[1] == "v":
                    break
                continue  # 青川 省, 集聚 区: part of a longer name (发言 镇党委 is not)
            if word == "中" and kept and (i == 0 or words[i - 1][0] in self.words.governors
                                          or words[i - 1][1] != "vn" and words[i - 1][1].startswith(("v", "p", "c", "x", "w"))):
                kept.insert(0, (word, "head"))  # 落户中云街道, 与中新控股: 中 heads the name (not 工作中)
                continue
            if company and word in COMPANY_TRADES and not kept:
                kept.insert(0, (word, flag))  # 某某投资集团, 某某建设有限公司: the trade is in the name
                continue
            if place and kept and len(word) >= 2 and word.endswith(self.lex.org_suffixes):
                break  # 某某管委会青溪街道: a place's name never runs back over a body
            if company and kept and word.endswith("公司"):
                break  # 甲有限公司乙公司: one company's name never runs back over another's (甲集团乙公司 is one name)
            if flag == "t" and not TIME_WORD.search(word):
                kept.insert(0, (word, "nz"))  # 明阳, 春华: jieba's time tag on a name's syllable
                continue
            if kept and self._post_end_re.search(word):
                break  # 区委书记某某来到某某日报: a name never runs back over a post
            if ORDINAL.fullmatch(word):
                if i > 0 and words[i - 1][0] in ("区", "市", "省", "县", "镇"):
                    kept[:0] = [words[i - 1], (word, "n")]  # 区第三届人大…委员会
                break
            if body and word == "和" and kept and i > 0 and words[i - 1][1].startswith(("n", "vn")) \
                    and "".join(w for w, _ in kept) + text[end:end + 3] not in self.lex.bodies \
                    and not any("".join(w for w, _ in kept) + text[end:end + k] in self.lex.bodies for k in (1, 2)):
                kept.insert(0, (word, flag))  # 发展和改革局, 文化和旅游局
                continue
            if (word in self.words.governors or (word in self.lex.project_phase and word not in ("工程", "工程项目"))
                    or flag.startswith(STOP_FLAGS)
                    or word in self.words.measures
                    or COUNT_WORD.fullmatch(word)
                    or AMOUNT.fullmatch(word)):  # 投资30亿元设立…: an amount ends a name
                if NUMBER.fullmatch(word) and kept and CAPACITY.match(kept[0][0]):
                    kept.insert(0, (word, flag))  # 年产30万吨…: a capacity is part of a project's name
                    continue
                break
            kept.insert(0, (word, flag))
        while kept and (kept[0][1] in ("v", "ad", "d", "vd") or kept[0][0] in self.words.leading_verbs) and kept[0][1] != "head":
            kept.pop(0)
        start = end - sum(len(w) for w, _ in kept)
        while start < end and text[start] in "年月日层栋" and start > 0 and NUMERAL.match(text, start - 1):
            start += 1  # 2023年某县产业园, 18日某某保税区, 9层办公楼: a date or count is no part of the name
            if text[start:start + 1] in self.words.governors:
                start += 1  # 8月经某某: the date ran into a one-character governor (经, 在, 于)
        if text.startswith("访", start) and (start == 0 or text[start - 1] in "—-－ 　\n"):
            start += 1  # ——访某某: the interview marker
        while start < end and text[start] in "（）()”暨":
            start += 1
        if company and text[start:start + 1] in ("和", "与", "及") and text.endswith(self.lex.enterprise_suffixes, 0, start):
            start += 1  # 甲有限公司和协…: jieba joined the conjunction to the next name's first character
        return start

    def suffix_cands(self, text: str) -> list[Found]:
        out = []
        out += self.road_cands(text)
        for m in self._suffix_re.finditer(text):
            s, e = m.start(), m.end()
            # the longest suffix that leaves a name in front: 国际旅游度假区 -> 国际旅游 + 度假区
            # (one suffix of each length can end at e: looked up by length, longest first)
            s = next((e - n for n in self._suffix_lens if n <= e - s and e - n > 0
                      and text[e - n:e] in self._suffix_type and NAME_LAST.match(text, e - n - 1)), s)
            suffix = text[s:e]
            title = self._title_re.match(text, s)
            if title and title.end() > e and not self._title_re.match(text, e):
                continue  # 部 of 部长 is a post, not a body (but 管委会 of 管委会主任 is one)
            label = self._suffix_type[suffix]
            if suffix == "号线":  # metro lines: 地铁6号线, 13号线
                num = re.search(r"(?:地铁|轨道交通)?\d+$", text[max(0, s - 8):s])
                if num:
                    out.append((s - len(num.group()), self._phase_end(text, e), Names.Project))
                continue
            if not self._suffix_is_word(text, s, e):
                continue  # 举办, 开好局: the suffix is part of a verb phrase
            # a project's name may lead with its company's full name: 某某科技有限公司年产…生产线
            start = self.left_extend(text, s, limit=32 if label == Names.Project else 20, body=label == Names.Organization,
                                     company=label == Names.Enterprise, place=label == Names.District)
            listed = label == Names.Project and (item := LIST_ITEM_HEAD.search(text, max(0, start - 3), start)) is not None \
                and not any(len(w.word) > 1 and w.word in self.words.leading_verbs for w in self._posseg.cut(text[item.start():start])) \
                and text.startswith(("、", "。", "；", "，"), self._phase_end(text, e)) and s - item.start() >= 3  # not 排水工程
            if listed and item:
                start = item.start()  # 、后湾冰雪乐园项目、: jieba's tag on an item's first character (后/f, 同/p) cut it
            if label == Names.Project:  # 甲科技城及乙产业园: jieba may join 及 to the first name's ending
                joined = [m.end() for m in self._suffix_re.finditer(text, start, s) if text[m.end():m.end() + 1] in ("及", "和", "与")
                          and self._suffix_type[m.group()] in (Names.Project, Names.District) and m.end() + 1 < s]
                start = joined[-1] + 1 if joined else start
            if label == Names.Organization and (pair := BODY_PAIR.search(text[start:e])):
                start += pair.end()  # 市委市政府: two bodies side by side; this one is the second
            prefix = text[start:s]
            if not prefix:
                continue
            if suffix in ("工委", "党工委") and len(prefix) > 2 and prefix.removesuffix("党").endswith(self.lex.zone_suffixes):
                continue  # 某某新区党工委书记: the post goes to the zone (ANNOTATION.md), no body of its own
            bare = RELATIVE_HEAD.sub("", prefix)  # 县行政大楼: a relative marker names nothing
            if label == Names.Project and (bare and self._generic(bare) or suffix not in self.words.buildings
                                           and suffix in self.words.needs_name and not self._specific(prefix) and not listed
                                           and not self._introduced(text, start, prefix, suffix)):
                continue
            if suffix in ("项目", "工程") and (self._place_only(prefix) or COUNT_AFTER.match(text, e)):
                continue  # 某县项目4个: the place's projects, counted, not one named project
            if suffix in self.words.needs_name and self._generic_tail(prefix):
                continue  # 某县产业项目, 一季度重点项目: a kind of project, not one named project
            if len(suffix) == 1 and not (prefix in ("区", "市", "省", "县") or len(prefix) >= 2):
                continue
            if label in (Names.Organization, Names.District) and (prefix in self.words.generic or self._generic(prefix)):
                continue
            if label == Names.Organization and suffix in self.words.loose_bodies and not (
                    self._specific(prefix) or re.match(r"(区|市|省|县|镇|新区|工委|管委|党工委)", prefix)):
                continue  # 规范商会, 星级商会: a kind of body, not a named one
            if label == Names.District and suffix in ("新区", "城区", "示范区", "片区") and not self._specific(prefix):
                continue  # 美丽新区, 法治新区: praise, not a place
            strong = suffix in self.words.strong_zones and re.fullmatch(f"[{HAN}]{{2,6}}", prefix) and not self._generic(prefix)
            if (label == Names.District or suffix == "中心") and not (strong or self._specific(prefix) or self._nominal(prefix)):
                continue  # 美丽新区, 服务中心: a description, not a name
            if label == Names.Enterprise and (prefix in self.words.generic or self._generic(prefix)):
                continue  # 上市公司
            if suffix.endswith("中心") and label == Names.Project and not self._built(text, start):
                label = Names.Organization
            if suffix in CITY_ZONES and (self._built(text, start) or text.startswith(("项目", "及", "和", "、"), e)):
                label = Names.Project  # 签约某某科技城, 某某科技城项目: a city being built; where projects start, a zone
            # a phase or section right after a project name belongs to it: 校区二期, 基地项目
            if label == Names.Project:
                e = self._phase_end(text, e)
            out.append((start, e, label))
        return out

    def outlet_cands(self, text: str) -> list[Found]:
        """News outlets named where an article gives its source (来源：某某网, 某某日报讯,
        某某报全媒体记者), then every mention of those names: an outlet is a body, not a company."""
        names = set()
        for pattern in OUTLET_RES:
            for m in pattern.finditer(text):
                name = re.sub(r"讯$", "", m.group(1))
                if len(name) >= 2 and not name.startswith(("本报", "本网", "本台")):
                    names.add(name)
        found = []
        for name in sorted(names, key=len, reverse=True):
            found += [(m.start(), m.end(), Names.Organization) for m in re.finditer(re.escape(name), text)]
        return found

    def project_list_cands(self, text: str) -> list[Found]:
        """Every item of a list that the text calls projects (甲、乙和丙等项目; 项目…：甲、乙、丙。),
        with its own trailing 项目/工程 left on (the resolver keeps the short form too)."""
        out: list[Found] = []
        ending = self.lex.project_suffixes + ("建设",)
        lists = _list_stretches(text)
        named = [(s, e) for s, e in lists if "项目" in text[s:e]]  # 甲、乙等项目 is all in one stretch
        for pattern, found in ((PROJECT_LISTS[0], _in_lists(PROJECT_LISTS[0], text, named)),
                               (PROJECT_LISTS[1], PROJECT_LISTS[1].finditer(text)),
                               (PROJECT_PEERS, _in_lists(PROJECT_PEERS, text, lists))):
            for m in found:
                pos, items = m.start(1), m.group(1).split("、")
                peers = pattern is PROJECT_PEERS
                if peers and sum(item.endswith(ending) for item in items) < 2:
                    continue
                last = re.fullmatch(r"(.{2,})和(.{2,})", items[-1])  # 乙和丙 (not 和润环保)
                items[-1:] = [last.group(1), "和", last.group(2)] if last else items[-1:]
                for k, item in enumerate(items):
                    start, end = pos, pos + len(item.removesuffix("等"))
                    pos += len(item) + (item != "和" and k + 1 < len(items) and items[k + 1] != "和")
                    if item == "和":
                        continue
                    # 相继实施甲、投资2亿元的乙: the list starts at 甲, an item after its last 的
                    start = self.left_extend(text, end, limit=32) if k == 0 else start + item.rfind("的") + 1
                    name = text[start:end]
                    core = re.sub(r"(?:项目|工程)$", "", name)  # 重点项目 is no name; 某某工程 is
                    if peers and (name.endswith(ending + self.lex.org_suffixes + self.lex.enterprise_suffixes
                                                + self.lex.zone_suffixes + ("厂",))
                                  or self._place_only(name) or lexicon.dictionary_tag(name) is not None
                                  or not self._specific(name) or re.search(r"[（）()]", name)
                                  or any(w.word in self.words.governors for w in self._posseg.cut(name))):
                        continue  # 甲产业园、乙、丙建设项目: only named items with no ending of their own
                    if any(m2.end() < len(name) and (peers or name[m2.end()] in "及和")
                           and self._suffix_type[m2.group()] in (Names.Project, Names.District)
                           for m2 in self._suffix_re.finditer(name)):
                        continue  # 甲科技城及乙产业园, 甲工业园转型升级: names the suffix rule finds
                    if len(core) >= 2 and "等" not in name and not self._generic(core) \
                            and name not in self.lex.divisions and not self._title_re.search(name):
                        out.append((start, end, Names.Project))
        return out

    def company_list_cands(self, text: str) -> list[Found]:
        """Short names in a list of companies: 甲、乙等(一批)企业 / 巨头, or a list in which two
        items or more end like companies (甲集团、乙、丙有限公司) — brand names with no ending."""
        out: list[Found] = []
        # the items are in one stretch; 等…企业 may run 13 characters past it
        for m in _in_lists(COMPANY_LIST, text, _list_stretches(text), reach=13):
            items = m.group(1).split("、")
            firms = sum(item.endswith(self.lex.enterprise_suffixes) for item in items)
            if not (m.group(2) or firms >= 2):
                continue
            pos = m.start(1)
            for k, item in enumerate(items):
                start, end = pos, pos + len(item)
                pos = end + 1
                if k == 0:  # 集聚了甲, 配套甲: the list starts at 甲
                    start = self.left_extend(text, end, limit=12)
                    for w in self._posseg.cut(text[start:end]):
                        if w.flag.startswith(("n", "j", "eng")) or end - start - len(w.word) < 2:
                            break
                        start += len(w.word)
                name = text[start:end]
                if lexicon.dictionary_tag(name) in ("v", "vn", "a", "d", "ad", "an"):
                    continue  # 数据生产、流通、应用: common words, not brands
                core = next((name[:-len(x)] for x in self.lex.enterprise_suffixes if name.endswith(x)), name)
                if 2 <= len(name) <= 8 and not (core and self._generic(core)) and name not in self.lex.divisions \
                        and not name.endswith(self.lex.org_suffixes + self.lex.project_suffixes + self.lex.zone_suffixes) \
                        and not self._title_re.search(name):
                    out.append((start, end, Names.Enterprise))
        return out

    def _place_only(self, prefix: str) -> bool:
        """A division and nothing else: 某县, 青岛市."""
        return prefix in self.lex.divisions or re.fullmatch(f"[{HAN}]{{1,6}}(?:省|市|县|区|镇|乡|村|州|盟|旗)", prefix) is not None

    def division_cands(self, text: str) -> list[Found]:
        """Divisions by their level's ending (州, 盟, 旗, 市, 县, 镇, 乡, 村, 管理区) after a
        two-character name that starts a word: 云岭州, 红柳旗, 石门镇, 李家村 (the adcode table
        has no towns or villages). Not inside a longer word: 智慧城市, 美丽乡村, 康养小镇."""
        out: list[Found] = []
        for m in DIVISION_END.finditer(text):
            s, e = m.start(), m.end()
            start = s - 2
            title = self._title_re.match(text, s)
            if start < 0 or (title and title.end() > e) or text[e:e + 1] in self.words.division_continues:
                continue  # 镇长 is a post; 村民, 市级 are longer words
            prefix, before = text[start:s], text[start - 1:start] if start else ""
            if not re.fullmatch(f"[{HAN}]{{2}}", prefix) or (re.match(f"[{HAN}]", before) and before not in self.words.division_before) \
                    or set(prefix) & self.words.not_in_division_name or text[s - 1:e] in self.lex.divisions:
                continue  # the name must start a word (推进乡村, 智慧城市 do not); 我县, 全市; 滨州 is known
            whole, head = lexicon.dictionary_tag(prefix + m.group()), lexicon.dictionary_tag(prefix)
            if (whole and not whole.startswith("ns")) or (head and not head.startswith(NAME_TAGS)) \
                    or prefix in self.words.generic:
                continue  # 城镇, 品味乡: words, not names
            out.append((start, e, Names.District))
        return out

    def _phase_end(self, text: str, end: int) -> int:
        """A phase or section right after a project name belongs to it: 校区二期, 基地项目."""
        while (ph := next((p for p in self.lex.project_phase if text.startswith(p, end)), None)):
            end += len(ph)
        return end

    def _suffix_is_word(self, text: str, s: int, e: int) -> bool:
        """A one-character suffix (局, 部, 办…) ends a body only when it is a word of its own
        (改革局, 融合办) or ends a body word (财政局), not a common word (布局, 干部, 举办)."""
        if e - s > 1:
            return True
        # look one character on (部 of 部署), unless a post title starts there (融合办主任)
        stop = e if self._title_re.match(text, e) else e + 1
        # (what narrow leaves out before s is punctuation: no noun in front, as with nothing)
        pos, stop = self._posseg.narrow(text, max(0, s - 6), stop, s, e)
        prev = None
        for w in self._posseg.cut(text[pos:stop]):
            if pos <= s < pos + len(w.word):
                if pos + len(w.word) != e:
                    return False  # 部署: the character starts a longer word
                if len(w.word) == 1:
                    return prev is not None and prev.flag.startswith(("n", "vn", "j"))
                return not w.flag.startswith("v") and w.word not in self.lex.not_bodies \
                    and not any(w.word.endswith(nb) for nb in self.lex.not_bodies)
            pos, prev = pos + len(w.word), w
        return False

    def _nominal(self, prefix: str) -> bool:
        """Only nouns, led by a place-like word or an administrative prefix: 区建筑工务, 国际旅游."""
        words = list(self._posseg.cut(prefix))
        return prefix[:1] in "区市省县镇" or (len(prefix) >= 2 and all(
            w.flag.startswith(("n", "vn", "j", "s")) for w in words) and not words[0].flag == "vn")

    def _specific(self, prefix: str) -> bool:
        """A project called …项目 needs a name in front: a place, an organisation, a quote."""
        return bool(SPECIFIC_MARK.search(prefix)) or any(
            w.flag in ("ns", "nr", "nt", "nz", "nrt", "j", "eng", "s") for w in self._posseg.cut(prefix))

    def _generic(self, prefix: str) -> bool:
        words = [w.word for w in self._posseg.cut(prefix)]
        return all(w in self.words.generic or NUMERAL_WORD.fullmatch(w) for w in words)

    def road_cands(self, text: str) -> list[Found]:
        """Numbered roads (某某二路, 某某东五路): projects where built (ANNOTATION.md, 隐珠二路)."""
        out: list[Found] = []
        for m in ROAD.finditer(text):
            start = self.left_extend(text, m.start(), limit=8)
            prefix = text[start:m.start()]
            if len(prefix) >= 2 and not self._generic(prefix) and not prefix.endswith(("第", "一")):
                out.append((start, m.end(), Names.Project))
        return out

    def _introduced(self, text: str, start: int, prefix: str, suffix: str) -> bool:
        """A project named by what it makes, set off as one item (投资3亿元的新型保温材料生产项目,
        、某某食品生产项目、): a name though no word of it is a proper noun."""
        if suffix != "项目" or len(prefix) < 4 or self._generic_tail(prefix) \
                or not (start == 0 or text[start - 1] in "、：:的，,“\n"):
            return False
        words = list(self._posseg.cut(prefix))  # things and making them, no clause (服务围着项目)
        return all(w.flag.startswith(("n", "vn", "j", "eng", "b")) or w.word in PRODUCTION for w in words)

    def _generic_tail(self, prefix: str) -> bool:
        words = [w.word for w in self._posseg.cut(prefix)]
        return bool(words) and words[-1] in self.words.generic

    @staticmethod
    def _built(text: str, start: int) -> bool:
        """A 中心 being built (a Project) rather than one that works (an Organization)."""
        before = text[max(0, start - 8):start]
        return bool(re.search(r"建设|打造|推进|开工|建成|引进|落地|加快|投资|签约|竣工|投产", before))

    def people_after(self, text: str, starts: Iterable[int], ner_people: set[tuple[int, int]]) -> list[Found]:
        """People named at each of `starts` (after a post title or a byline mark), and the
        people listed after them with 、 (区领导甲、乙、丙)."""
        name_re, _ = self._name_res
        out: list[Found] = []
        for pos in starts:
            m = name_re.match(text, pos)
            if not m:
                continue
            ner = [e for s, e in ner_people if s == pos and 2 <= e - s <= 4]
            end = ner[0] if ner else self._name_end(text, pos, m.end())
            name = text[pos:end]
            if self._title_re.match(name) or name in self.lex.divisions or not self._looks_like_name(text, pos, end):
                continue
            out.append((pos, end, Names.Person))
            while (nxt := name_re.match(text, end + 1)) and text[end] == "、":
                pos, end = nxt.start(), self._name_end(text, nxt.start(), nxt.end())
                if DIVISION_END.search(text[end - 1]) or self._title_re.match(text, end):
                    break  # 、白马盟盟长: a place that starts the next post, no person of the list
                out.append((pos, end, Names.Person))
        return out

    @staticmethod
    def _name_end(text: str, pos: int, longest: int) -> int:
        # 3 chars unless the third starts a new word: punctuation, 、, or a common verb after a name
        if longest - pos == 3 and (longest >= len(text) or text[longest] in PUNCT_END
                                   or text[longest] in "出介说表指强在主参等同一带"):
            return longest
        if longest - pos == 3 and text[pos + 2] in PUNCT_END | set("出介说表指强在主参等同一带和与为的"):
            return pos + 2
        return longest

    def _looks_like_name(self, text: str, start: int, end: int) -> bool:
        after = text[end:end + 1]
        return not after or not re.match(r"[局委部办厅处院校会司]", after)

    # -- arbitration ----------------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)
        cands = [Cand(s, e, label, name) for name, rule in self.rules.items() for s, e, label in rule(self, doc)]
        cands = [c for c in cands if all(keep(self, text, c) for keep in self.filters.values())]
        spans = []
        for c in cands:
            span = doc.char_span(c.start, c.end, c.label, kb_id=c.source, span_id=c.source, alignment_mode="expand")
            if span is not None:
                spans.append((c, span))
        # the most trusted finder first, then the longest span
        spans.sort(key=lambda cs: (-self.confidence[cs[0].source], -(cs[1].end - cs[1].start), cs[1].start))
        chosen: list[Span] = []
        taken: set[int] = set()
        for _, span in spans:
            if taken.isdisjoint(range(span.start, span.end)):
                chosen.append(span)
                taken.update(range(span.start, span.end))
        chosen.sort(key=lambda sp: sp.start)
        inner = [doc.char_span(s, e, label, kb_id=name, span_id=name, alignment_mode="expand")
                 for name, rule in self.nested.items() for s, e, label in rule(self, doc, chosen)]
        # every candidate, chosen or not, and the nested ones: kg_relations reads owners and places here
        doc.spans[RULES_KEY] = [s for _, s in spans] + [s for s in inner if s is not None]
        doc.ents = chosen
        return doc

    def retype(self, name: str, label: str) -> str:
        """The name's own ending outranks the NER's guess between body and company."""
        if label in (Names.Organization, Names.Enterprise):
            if name.endswith(OUTLET_NAME_END):
                return Names.Organization  # 某某新闻网, 某某日报: a newspaper is a body (ANNOTATION.md)
            if name.endswith(self.lex.enterprise_suffixes):
                return Names.Enterprise
            if name.endswith(self.lex.org_suffixes) or name in self.lex.bodies:
                return Names.Organization
        return label


# -- rules: each proposes (start, end, label); named and ranked in config.cfg -----------------

def _on_text(cands: Callable[[EntityRules, str], list[Found]]) -> Rule:
    """A rule that reads only the doc's text (offsets are characters, whatever the segmenter)."""
    return lambda r, doc: cands(r, doc_text(doc))


@registry.misc("kg.entities.ner.v1")
def ner_rule() -> Rule:
    """The statistical NER's spans (kg_ner), and an upstream pipeline's doc.ents through
    the component's label_map; body or company by the name's ending."""
    def propose(r: EntityRules, doc: Doc) -> list[Found]:
        text = doc_text(doc)
        out: list[Found] = []
        for s in doc.spans.get(NER_KEY, []):
            start, end = s.start_char, s.end_char
            out.append((start, end, r.retype(text[start:end], s.label_)))  # (span.text builds it token by token)
        return out + [(e.start_char, e.end_char, r.label_map[e.label_]) for e in doc.ents if e.label_ in r.label_map]
    return propose


@registry.misc("kg.entities.lexicon.v1")
def lexicon_rule() -> Rule:
    """Divisions (cpca's adcode table), countries and central bodies, on word bounds."""
    return lambda r, doc: r.lexicon_cands(doc, doc_text(doc))


@registry.misc("kg.entities.suffix.v1")
def suffix_rule() -> Rule:
    """A name by its ending (…产业园 Project, …局 Organization, …有限公司 Enterprise, …街道 District),
    extended left over the words of the name."""
    return _on_text(EntityRules.suffix_cands)


@registry.misc("kg.entities.outlet.v1")
def outlet_rule() -> Rule:
    """News outlets where the article gives its source: 来源：某某网, 某某日报讯, 某某报记者."""
    return _on_text(EntityRules.outlet_cands)


@registry.misc("kg.entities.project_list.v1")
def project_list_rule() -> Rule:
    """Items of a list the text calls projects: 甲、乙和丙等项目 (names with no telltale ending)."""
    return _on_text(EntityRules.project_list_cands)


@registry.misc("kg.entities.company_list.v1")
def company_list_rule() -> Rule:
    """Short company names in a list of companies: 甲、乙等企业 (brand names with no ending)."""
    return _on_text(EntityRules.company_list_cands)


@registry.misc("kg.entities.division.v1")
def division_rule() -> Rule:
    """A division by its level's ending after a short proper name: 云岭州, 红柳旗, 石门镇, 李家村."""
    return _on_text(EntityRules.division_cands)


@registry.misc("kg.entities.owner.v1")
def owner_rule() -> NestedRule:
    """The company or body at the head of a project's name (京东方青岛基地 -> 京东方), found by the
    statistical NER reading the project's name alone (it is trained on such names, kg train)."""
    def propose(r: EntityRules, doc: Doc, chosen: list[Span]) -> list[Found]:
        projects = [(e.start_char, e.text) for e in chosen if e.label_ == Names.Project]
        if not projects or not r.host.has_pipe("kg_ner"):
            return []
        out: list[Found] = []
        places = tuple(e.text for e in chosen if e.label_ == Names.District)
        ner = r.host.get_pipe("kg_ner")
        for (start, name), parsed in zip(projects, ner.read([n for _, n in projects])):  # type: ignore[attr-defined]
            head = next((e for e in parsed.ents if e.start_char == 0), None)
            if head is not None and head.label_ in (Names.Enterprise, Names.Organization) and len(head.text) >= 2 \
                    and head.end_char < len(name) and r.lex.divisions.get(head.text) is None \
                    and not any(p.startswith(head.text) for p in places):  # 某某街道 named elsewhere: a place
                out.append((start, start + head.end_char, r.retype(head.text, head.label_)))
        return out
    return propose


def _ner_people(doc: Doc) -> set[tuple[int, int]]:
    return {(s.start_char, s.end_char) for s in doc.spans.get(NER_KEY, []) if s.label_ == Names.Person}


@registry.misc("kg.entities.person_after_title.v1")
def person_after_title_rule() -> Rule:
    """A surname and given name right after a post title: 局长张志远, 区领导甲、乙."""
    def propose(r: EntityRules, doc: Doc) -> list[Found]:
        text = doc_text(doc)
        starts = [m.end() for m in r._title_re.finditer(text)]
        return r.people_after(text, starts, _ner_people(doc))
    return propose


@registry.misc("kg.entities.byline.v1")
def byline_rule() -> Rule:
    """Reporters in a byline: □本报记者 王雪."""
    def propose(r: EntityRules, doc: Doc) -> list[Found]:
        text = doc_text(doc)
        starts = [m.end() for m in re.finditer(r"□(?:本报)?(?:记者|通讯员|实习生)?\s*", text)]
        return r.people_after(text, starts, _ner_people(doc))
    return propose


@registry.misc("kg.entities.speaker.v1")
def speaker_rule() -> Rule:
    """An interview's speaker: a name at a paragraph start before ：."""
    def propose(r: EntityRules, doc: Doc) -> list[Found]:
        return [(m.start(1), m.end(1), Names.Person) for m in r._name_res[1].finditer(doc_text(doc))]
    return propose


# -- filters: each may drop a candidate; all configured filters must keep it -------------------

@registry.misc("kg.entities.filter.form.v1")
def form_filter() -> Filter:
    """Two characters at least, no whitespace inside."""
    return lambda r, text, c: c.end - c.start >= 2 and not SPACE.search(text, c.start, c.end)


@registry.misc("kg.entities.filter.country_phrase.v1")
def country_phrase_filter() -> Filter:
    """A country right before a content word is part of a name or phrase (讲好中国故事,
    中国某某博物馆), not the country."""
    def keep(r: EntityRules, text: str, c: Cand) -> bool:
        if c.label != Names.District or text[c.start:c.end] not in r.lex.countries:
            return True
        after = list(r._posseg.cut(text[c.start:c.end + 6]))
        nxt = after[1] if len(after) > 1 and after[0].word == text[c.start:c.end] else None
        # the country goes on into a noun (中国故事, 中国钱币博物馆) or was cut inside a longer word
        return nxt is not None and not nxt.flag.startswith(("n", "vn", "a", "j", "l")) or c.end == len(text)
    return keep


@registry.misc("kg.entities.filter.place_in_name.v1")
def place_in_name_filter() -> Filter:
    """A place that runs on, without a break, into a company's or institute's ending heads that
    name (某省投资集团, 某市规划设计院, 某地总部): no District of its own (ANNOTATION.md)."""
    def keep(r: EntityRules, text: str, c: Cand) -> bool:
        if c.label != Names.District or c.source not in ("lexicon", "ner"):
            return True
        return not PLACE_IN_NAME.match(text[c.end:c.end + 14])
    return keep


@registry.misc("kg.entities.filter.ner_plural.v1")
def ner_plural_filter() -> Filter:
    """A body or company from the NER is no count or class of them (…企业, 百强, 10家)."""
    def keep(r: EntityRules, text: str, c: Cand) -> bool:
        name = text[c.start:c.end]
        return not (c.source == "ner" and c.label in (Names.Organization, Names.Enterprise) and (
            len(name) > 25 or NER_PLURAL.search(name)))
    return keep


@registry.misc("kg.entities.filter.ner_person.v1")
def ner_person_filter() -> Filter:
    """A person from the NER alone needs a common surname and no dictionary word's tag
    (高标准, 齐心 are words, not names)."""
    def keep(r: EntityRules, text: str, c: Cand) -> bool:
        if c.label != Names.Person or c.source != "ner":
            return True
        name = text[c.start:c.end]
        tag = lexicon.dictionary_tag(name)
        return 2 <= len(name) <= 4 and (name[0] in r.lex.common_surnames or name[:2] in r.lex.surnames) \
            and PERSON_CHARS.fullmatch(name) is not None and not NOT_PERSON_END.search(name) \
            and (tag is None or tag.startswith("nr"))
    return keep


@registry.misc("kg.entities.filter.ner_person.v2")
def ner_person_filter_v2() -> Filter:
    """A person from the NER alone: a Chinese name (any listed surname, two to four characters)
    or a transliterated foreign name (克林顿, 卡洛斯·阿马特); never a dictionary word of another
    kind (高标准, 齐心)."""
    def keep(r: EntityRules, text: str, c: Cand) -> bool:
        if c.label != Names.Person or c.source != "ner":
            return True
        name = text[c.start:c.end]
        tag = lexicon.dictionary_tag(name)
        if (tag is not None and not tag.startswith("nr")) or not PERSON_CHARS.fullmatch(name):
            return False
        chinese = 2 <= len(name) <= 4 and r.lex.is_surname_start(name) and not NOT_PERSON_END.search(name)
        foreign = 2 <= len(name) <= 12 and set(name) <= r.words.transliteration
        return chinese or foreign
    return keep


@registry.misc("kg.entities.filter.ner_phrase.v1")
def ner_phrase_filter() -> Filter:
    """No NER name ends in a generic word (…建设, …体系) or joins two names (和, 与, 、)."""
    def keep(r: EntityRules, text: str, c: Cand) -> bool:
        name = text[c.start:c.end]
        return c.source != "ner" or c.label == Names.Person or not (
            GENERIC_TAIL.search(name) or JOINED.search(name))
    return keep


@registry.misc("kg.entities.filter.ner_company.v1")
def ner_company_filter() -> Filter:
    """A bare company name from the NER must look like a name (京东方), not a phrase (高端科技)."""
    def keep(r: EntityRules, text: str, c: Cand) -> bool:
        name = text[c.start:c.end]
        if c.source != "ner" or c.label != Names.Enterprise or COMPANY_END.search(name):
            return True
        words = list(r._posseg.cut(name))
        return r._specific(name) and not r._generic(name) and name not in r.lex.divisions \
            and not words[0].flag.startswith("v") and words[-1].word not in r.words.generic | {"科技", "装备", "方法"}
    return keep


@registry.misc("kg.entities.filter.ner_place.v1")
def ner_place_filter() -> Filter:
    """A place from the NER is a known division or ends like one (法治化 is no place)."""
    def keep(r: EntityRules, text: str, c: Cand) -> bool:
        name = text[c.start:c.end]
        return c.source != "ner" or c.label != Names.District or name in r.lex.divisions \
            or name in r.lex.countries or name.endswith(tuple(r.lex.zone_suffixes) + ("省", "市", "县", "区", "镇", "乡", "村"))
    return keep


@registry.misc("kg.entities.filter.ner_body.v1")
def ner_body_filter() -> Filter:
    """A body from the NER is a known body or ends like one."""
    def keep(r: EntityRules, text: str, c: Cand) -> bool:
        name = text[c.start:c.end]
        return c.source != "ner" or c.label != Names.Organization or name in r.lex.bodies \
            or name.endswith(r.lex.org_suffixes)
    return keep


@registry.misc("kg.entities.lexicon_data.v1")
def lexicon_data(path: str | None = None) -> dict:
    """The word lists for [initialize.components.kg_entities]: kg/data/lexicon.json unless `path`."""
    return lexicon.read_raw(Path(path) if path else lexicon.DATA / "lexicon.json")


RULES = {"ner": "kg.entities.ner.v1", "lexicon": "kg.entities.lexicon.v1", "suffix": "kg.entities.suffix.v1",
         "title": "kg.entities.person_after_title.v1", "byline": "kg.entities.byline.v1",
         "speaker": "kg.entities.speaker.v1", "division": "kg.entities.division.v1",
         "outlet": "kg.entities.outlet.v1", "project_list": "kg.entities.project_list.v1",
         "company_list": "kg.entities.company_list.v1"}
FILTERS = {name: f"kg.entities.filter.{name}.v1"
           for name in ("form", "country_phrase", "place_in_name", "ner_plural", "ner_person", "ner_phrase", "ner_company", "ner_place", "ner_body")}
FILTERS["ner_person"] = "kg.entities.filter.ner_person.v2"  # chosen over v1: see README, Quality
NESTED = {"owner": "kg.entities.owner.v1"}
# kg/config.cfg repeats these defaults; `nlp.add_pipe("kg_entities")` alone gets them too
CONFIDENCE = {"suffix": 0.9, "title": 0.9, "byline": 0.9, "speaker": 0.9, "outlet": 0.9, "division": 0.85, "ner": 0.8,
              "project_list": 0.95, "company_list": 0.85,
              "owner": 0.8, "lexicon": 0.7}


@Language.factory("kg_entities", assigns=["doc.ents", "doc.spans"],
                  default_config={"label_map": {"PERSON": Names.Person, "GPE": Names.District, "ORG": Names.Organization},
                                  "rules": RULES, "filters": FILTERS, "nested": NESTED,
                                  "confidence": CONFIDENCE})
def make_entities(nlp, name: str, label_map: dict[str, str], rules: dict[str, str],
                  filters: dict[str, str], nested: dict[str, str], confidence: dict[str, float]) -> EntityRules:
    """`rules`, `filters` and `nested` map a name to a function in spaCy's `misc` registry."""
    get = lambda table: {k: registry.misc.get(v)() for k, v in table.items()}
    return EntityRules(nlp, name, label_map, get(rules), get(filters), confidence, get(nested))
