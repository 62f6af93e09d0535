"""`kg_entities`: rule-based mentions by name structure, arbitrated with the statistical NER.

Rules reach what a news-trained NER cannot: Projects and zones named by their suffix
(…产业园, …核心区), government bodies (区工商联, 市委), divisions from the national
adcode table, people after a post title or in a byline. Rules scan `doc.text` with
regular expressions and map char offsets to tokens, so they work with any segmenter.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from kg import lexicon
from kg.pipeline.ner import SPANS_KEY as NER_KEY
from kg.vocab import Names

HAN = r"\u4e00-\u9fff"
RULES_KEY = "kg_rules"

# Verbs and words that govern a following name: a name never extends left past them.
GOVERNORS = set("""推动 加快 推进 打造 启动 建成 启用 开工 引进 完善 提升 实施 支持 围绕 落实 建立 成立
做好 深化 聚焦 加强 保障 抓好 实现 参与 打响 投资 签约 落地 落户 竣工 投产 谋划 依托 力争 确保 完成
全力 推进 培育 壮大 招引 开展 举办 召开 出席 参加 访 经 由 据 与 和 及 或 同 跟 向 对 为 在 于 把 将 让 使
以 从 自 至 到 是 有 等 了 的 地 得 着 也 都 还 又 并 而 更 最 很 年内 今年 去年 明年 目前 当前 持续 积极 全面
加速 扎实 主要 其中 包括 涉及 属于 作为 成为 形成 达到 启用 上 下 中 内 外 前 后 新建 续建 全市 全区 全省
全国 各级 相关 一批 各类 所有 其他""".split())
STOP_FLAGS = ("p", "c", "u", "d", "r", "t", "f", "y", "e", "o", "x", "w", "z", "ad")
# zone words that only follow a proper name (红石崖街道, 董家口化工园区)
STRONG_ZONES = {"街道", "社区", "化工园区", "自贸片区", "保税区", "保税港区", "开发区", "高新区", "经济区"}
MEASURES = {"个", "项", "家", "批", "座", "条", "类", "名", "位", "所", "只"}
COMMON_PLACE_WORDS = {"新城区", "老城区", "城区", "郊区", "矿区", "市中区", "开发区", "高新区", "新区", "市区"}
LEADING_VERBS = GOVERNORS | {"建设", "开发", "新建", "续建", "扩建", "实施"}
LOOSE_BODIES = {"商会", "总商会", "党支部", "支部", "工会", "协会", "学会", "中心", "服务中心", "部", "办", "委", "局",
                "指挥部", "办公室", "联合会", "促进会", "义工团", "志愿服务队"}
BUILDINGS = ("图书馆", "科技馆", "博物馆", "美术馆", "体育馆", "游泳馆", "场馆")
GENERIC = set("""上市 重点 攻坚 政府 投资 高校 工程 建设 产业 重大 民生 基础 配套 公共 城市 在建 新建 亮点 示范 大 小 新 老
这些 该 本 各 相关 其他 优质 高端 龙头 战略性 海洋 科技 创新 实体 工作 服务 管理 市场 经济 社会 发展 民营 国有
中小 优势 特色 新兴 未来 现代 智慧 数字 绿色 文化 旅游 教育 医疗 交通 物流 生态 环保 安全 应急 农业 工业""".split())
GENERIC_TAIL = r"(建设|布局|部署|发展|水平|精神|格局|特色化|体系|机制|模式|方法|清单|工作)$|^(深化|推进|加快|全面|准确|紧紧)"
PUNCT_END = set("，。；：！？、,.;:!?）)”\n ")


class _Cut:
    """jieba.posseg with a memory: names and their contexts repeat within and across articles."""

    def __init__(self):
        import logging

        import jieba
        import jieba.posseg

        jieba.setLogLevel(logging.WARNING)
        self._posseg = jieba.posseg
        self.cut = lru_cache(maxsize=65536)(self._cut)

    def _cut(self, text: str) -> tuple:
        return tuple(self._posseg.cut(text))


@dataclass(frozen=True)
class Cand:
    start: int
    end: int
    label: str
    source: str  # suffix, lexicon, title, byline, speaker or ner: arbitration ranks by it


class EntityRules:
    def __init__(self, nlp: Language, name: str, use_ner: bool, label_map: dict[str, str]):
        self.name = name
        self.vocab = nlp.vocab
        self.make_doc_pipe = lambda texts: (nlp.make_doc(t) for t in texts)
        self.use_ner = use_ner
        self.label_map = label_map  # labels of an upstream spaCy ner (zh_core_web_*) -> ours
        self.lex = lexicon.load()

    @cached_property
    def _posseg(self) -> _Cut:
        return _Cut()

    @cached_property
    def _suffix_re(self) -> re.Pattern:
        lex = self.lex
        suffixes = {s: Names.Project for s in lex.project_suffixes}
        suffixes |= {s: Names.Organization for s in lex.org_suffixes}
        suffixes |= {s: Names.Enterprise for s in lex.enterprise_suffixes}
        suffixes |= {s: Names.District for s in lex.zone_suffixes}
        self._suffix_type = suffixes
        self._suffix_order = sorted(suffixes, key=len, reverse=True)
        alts = "|".join(map(re.escape, self._suffix_order))
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
    def _title_re(self) -> re.Pattern:
        titles = sorted(self.lex.titles, key=len, reverse=True)
        return re.compile("|".join(map(re.escape, titles)))

    # -- candidate generators -------------------------------------------------------------
    def lexicon_cands(self, doc: Doc, text: str) -> list[Cand]:
        out = []
        for match_id, s, e in self._lexicon_matcher(doc):
            start, end = doc[s].idx, doc[e - 1].idx + len(doc[e - 1])
            name = text[start:end]
            if name in COMMON_PLACE_WORDS or (len(name) <= 3 and not self._on_word_bounds(text, start, end)):
                continue  # 迁安 inside 搬迁安置
            out.append(Cand(start, end, self.vocab.strings[match_id], "lexicon"))
        return out

    def _on_word_bounds(self, text: str, start: int, end: int) -> bool:
        lo = max(0, start - 4)
        bounds, pos = {lo}, lo
        for w in self._posseg.cut(text[lo:end + 4]):
            pos += len(w.word)
            bounds.add(pos)
        return start in bounds and end in bounds

    def left_extend(self, text: str, end: int, limit: int = 20, body: bool = False) -> int:
        """Start of the name ending at `end`: walk left over words until a governing word,
        punctuation, a function word (jieba POS) or a phase marker ends it; then drop
        leading verbs (推动…, 擦亮…): a name does not start with one."""
        lo = end
        while lo > 0 and end - lo < limit and re.match(rf"[{HAN}A-Za-z0-9（）()“”·]", text[lo - 1]):
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
                    continue
                if j == 0 and opener == "“":
                    kept[:0] = words[j:i + 1]
                    break
            if word == "“":
                break
            if re.fullmatch(r"第[\d一二三四五六七八九十百]+[届次期]", word):
                if i > 0 and words[i - 1][0] in ("区", "市", "省", "县", "镇"):
                    kept[:0] = [words[i - 1], (word, "n")]  # 区第三届人大…委员会
                break
            if body and word == "和" and kept and i > 0 and words[i - 1][1].startswith(("n", "vn")) \
                    and "".join(w for w, _ in kept) + text[end:end + 3] not in self.lex.bodies \
                    and not any("".join(w for w, _ in kept) + text[end:end + k] in self.lex.bodies for k in (1, 2)):
                kept.insert(0, (word, flag))  # 发展和改革局, 文化和旅游局
                continue
            if (word in GOVERNORS or (word in self.lex.project_phase and word not in ("工程", "工程项目"))
                    or flag.startswith(STOP_FLAGS)
                    or word in MEASURES
                    or re.fullmatch(r"\d+[个大项家所条批类]?|[一二三四五六七八九十百千万两几多]+[个大项家所条批类]", word)):
                break
            kept.insert(0, (word, flag))
        while kept and (kept[0][1] in ("v", "ad", "d", "vd") or kept[0][0] in LEADING_VERBS):
            kept.pop(0)
        start = end - sum(len(w) for w, _ in kept)
        if text.startswith("访", start) and (start == 0 or text[start - 1] in "—-－ 　\n"):
            start += 1  # ——访某某: the interview marker
        while start < end and re.match(r"[（）()”]", text[start]):
            start += 1
        return start

    def suffix_cands(self, text: str) -> list[Cand]:
        out = []
        for m in self._suffix_re.finditer(text):
            s, e = m.start(), m.end()
            # the longest suffix that leaves a name in front: 国际旅游度假区 -> 国际旅游 + 度假区
            s = next((e - len(x) for x in self._suffix_order if text.endswith(x, 0, e) and e - len(x) > 0
                      and re.match(f"[{HAN}A-Za-z0-9）)”]", text[e - len(x) - 1])
                      and (e - len(x) == s or len(x) < e - s)), s)
            suffix = text[s:e]
            title = self._title_re.match(text, s)
            if title and title.end() > e:
                continue  # 部 of 部长 is a post, not a body
            label = self._suffix_type[suffix]
            if suffix == "号线":  # metro lines: 地铁6号线, 13号线
                num = re.search(r"(?:地铁|轨道交通)?\d+$", text[max(0, s - 8):s])
                if num:
                    out.append(Cand(s - len(num.group()), self._phase_end(text, e), Names.Project, "suffix"))
                continue
            if not self._suffix_is_word(text, s, e):
                continue  # 举办, 开好局: the suffix is part of a verb phrase
            start = self.left_extend(text, s, body=label == Names.Organization)
            prefix = text[start:s]
            if not prefix:
                continue
            if label == Names.Project and suffix not in BUILDINGS and (self._generic(prefix) or suffix in ("项目", "工程", "二期", "三期", "一期")
                                       and not self._specific(prefix)):
                continue
            if len(suffix) == 1 and not (prefix in ("区", "市", "省", "县") or len(prefix) >= 2):
                continue
            if label in (Names.Organization, Names.District) and (prefix in GENERIC or self._generic(prefix)):
                continue
            if label == Names.Organization and suffix in LOOSE_BODIES and not (
                    self._specific(prefix) or re.match(r"(区|市|省|县|镇|新区|工委|管委|党工委)", prefix)):
                continue  # 规范商会, 星级商会: a kind of body, not a named one
            if label == Names.District and suffix in ("新区", "城区", "示范区", "片区") and not self._specific(prefix):
                continue  # 美丽新区, 法治新区: praise, not a place
            strong = suffix in STRONG_ZONES and re.fullmatch(f"[{HAN}]{{2,6}}", prefix) and not self._generic(prefix)
            if (label == Names.District or suffix == "中心") and not (strong or self._specific(prefix) or self._nominal(prefix)):
                continue  # 美丽新区, 服务中心: a description, not a name
            if label == Names.Enterprise and (prefix in GENERIC or self._generic(prefix)):
                continue  # 上市公司
            if suffix.endswith("中心") and label == Names.Project and not self._built(text, start):
                label = Names.Organization
            # a phase or section right after a project name belongs to it: 校区二期, 基地项目
            if label == Names.Project:
                e = self._phase_end(text, e)
            out.append(Cand(start, e, label, "suffix"))
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
        pos, prev = max(0, s - 6), None
        # look one character on (部 of 部署), unless a post title starts there (融合办主任)
        stop = e if self._title_re.match(text, e) else e + 1
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
        return bool(re.search(r"[“”《》A-Za-z]", prefix)) or any(
            w.flag in ("ns", "nr", "nt", "nz", "nrt", "j", "eng", "s") for w in self._posseg.cut(prefix))

    def _generic(self, prefix: str) -> bool:
        words = [w.word for w in self._posseg.cut(prefix)]
        return all(w in GENERIC or re.fullmatch(r"[\d一二三四五六七八九十百千万亿]+", w) for w in words)

    @staticmethod
    def _built(text: str, start: int) -> bool:
        """A 中心 being built (a Project) rather than one that works (an Organization)."""
        before = text[max(0, start - 8):start]
        return bool(re.search(r"建设|打造|推进|开工|建成|引进|落地|加快|投资|签约|竣工|投产", before))

    def person_cands(self, text: str, ner_people: set[tuple[int, int]]) -> list[Cand]:
        """People named right after a post title, in a byline, or as an interview's speaker."""
        lex, out = self.lex, []
        name_re, speaker_re = self._name_res
        starts = [m.end() for m in self._title_re.finditer(text)]
        starts += [m.end() for m in re.finditer(r"□(?:本报)?(?:记者|通讯员|实习生)?\s*", text)]
        for pos in starts:
            m = name_re.match(text, pos)
            if not m:
                continue
            ner = [e for s, e in ner_people if s == pos and 2 <= e - s <= 4]
            if ner:
                end = ner[0]
            else:
                end = self._name_end(text, pos, m.end())
            name = text[pos:end]
            if self._title_re.match(name) or name in lex.divisions or not self._looks_like_name(text, pos, end):
                continue
            src = "byline" if text[max(0, pos - 6):pos].find("□") >= 0 else "title"
            out.append(Cand(pos, end, Names.Person, src))
            # a list of people sharing the post: 区领导甲、乙、丙
            while (nxt := name_re.match(text, end + 1)) and text[end] == "、":
                pos, end = nxt.start(), self._name_end(text, nxt.start(), nxt.end())
                out.append(Cand(pos, end, Names.Person, "title"))
        for m in speaker_re.finditer(text):
            out.append(Cand(m.start(1), m.end(1), Names.Person, "speaker"))
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
        text = doc.text
        cands: list[Cand] = []
        ner_people: set[tuple[int, int]] = set()
        if self.use_ner:
            for span in doc.spans.get(NER_KEY, []):
                cands.append(Cand(span.start_char, span.end_char, self._retype(span.text, span.label_), "ner"))
                if span.label_ == Names.Person:
                    ner_people.add((span.start_char, span.end_char))
            for ent in doc.ents:  # an upstream pipeline's ner, e.g. zh_core_web_sm
                if label := self.label_map.get(ent.label_):
                    cands.append(Cand(ent.start_char, ent.end_char, label, "ner"))
        cands += self.lexicon_cands(doc, text) + self.suffix_cands(text)
        cands += self.person_cands(text, ner_people)
        cands = [c for c in cands if self._keep(text, c)]
        spans = []
        for c in cands:
            span = doc.char_span(c.start, c.end, c.label, kb_id=c.source, alignment_mode="expand")
            if span is not None:  # kb_id keeps the source: relations trust rules over the NER
                spans.append((c, span))
        # rules first (they know name structure), then the NER, then bare lexicon hits;
        # within a tier the longest wins
        rank = {"suffix": 0, "title": 0, "byline": 0, "speaker": 0, "ner": 1, "lexicon": 2}
        spans.sort(key=lambda cs: (rank[cs[0].source], -(cs[1].end - cs[1].start), cs[1].start))
        chosen: list[Span] = []
        taken: set[int] = set()
        for _, span in spans:
            if taken.isdisjoint(range(span.start, span.end)):
                chosen.append(span)
                taken.update(range(span.start, span.end))
        chosen.sort(key=lambda sp: sp.start)
        doc.spans[RULES_KEY] = [s for _, s in spans]
        doc.ents = chosen
        return doc

    def _retype(self, name: str, label: str) -> str:
        """The name's own ending outranks the NER's guess between body and company."""
        if label in (Names.Organization, Names.Enterprise):
            if name.endswith(self.lex.enterprise_suffixes):
                return Names.Enterprise
            if name.endswith(self.lex.org_suffixes) or name in self.lex.bodies:
                return Names.Organization
        return label

    def _keep(self, text: str, c: Cand) -> bool:
        name = text[c.start:c.end]
        if re.search(r"\s", name) or len(name) < 2:
            return False
        if c.source == "ner" and c.label in (Names.Organization, Names.Enterprise) and (
                len(name) > 25 or re.search(r"(企业|家|等|个|强)$|\d+家", name)):
            return False
        if c.label == Names.Person and c.source == "ner":
            # the NER alone is trusted for a person with one of the ~120 commonest surnames
            tag = lexicon.dictionary_tag(name)  # 高标准, 齐心: words, not names
            return 2 <= len(name) <= 4 and (name[0] in self.lex.common_surnames or name[:2] in self.lex.surnames) \
                and re.fullmatch(f"[{HAN}·]+", name) is not None and not re.search(r"[化性率区省市县]$", name) \
                and (tag is None or tag.startswith("nr"))
        if c.source == "ner" and (re.search(GENERIC_TAIL, name) or re.search(r"[和与及、]", name)):
            return False
        if c.source == "ner" and c.label == Names.Enterprise and not re.search(r"(公司|集团|银行)$", name):
            # a bare company name must look like a name (京东方, 潍柴), not a phrase (高端科技)
            words = [w for w in self._posseg.cut(name)]
            return self._specific(name) and not self._generic(name) and name not in self.lex.divisions \
                and not words[0].flag.startswith("v") and words[-1].word not in GENERIC | {"科技", "装备", "方法"}
        if c.source == "ner" and c.label == Names.District:  # 法治化, 智慧城市基础设: not places
            return name in self.lex.divisions or name in self.lex.countries or name.endswith(
                tuple(self.lex.zone_suffixes) + ("省", "市", "县", "区", "镇", "乡", "村"))
        if c.source == "ner" and c.label == Names.Organization:  # the NER's bodies need a body's ending
            return name in self.lex.bodies or name.endswith(self.lex.org_suffixes)
        return True


@Language.factory("kg_entities", assigns=["doc.ents", "doc.spans"],
                  default_config={"use_ner": True, "label_map": {"PERSON": Names.Person, "GPE": Names.District,
                                                                 "ORG": Names.Organization}})
def make_entities(nlp: Language, name: str, use_ner: bool, label_map: dict[str, str]) -> EntityRules:
    return EntityRules(nlp, name, use_ner, label_map)
