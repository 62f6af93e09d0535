"""Synthetic local news for scale tests: N articles in the style of the sample corpus, all names invented.

    python benchmarks/synth.py articles OUT --n 1000       # .txt files, hard-wrapped like a paper's columns
    python benchmarks/synth.py records OUT --n 100000      # extraction records straight away, no NLP

Names are built from character tables with a fixed seed and drawn from pools with a heavy head, so a
few districts, leaders and companies come back in most articles (as in a local paper) and a long tail
appears once or twice. Pools grow like n**0.6 (Heaps' law), so the vocabulary keeps growing with the
corpus. `records` emits the Extraction each article's facts imply (mentions at their real offsets,
evidence sentences, relations), so merge and exports can be measured at sizes where NLP would take hours.
"""
from __future__ import annotations

import argparse
import hashlib
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kg.types import Article, Entity, Evidence, Extraction, Mention, Relation  # noqa: E402

# Character tables (general knowledge: common surnames, given-name and place-name characters).
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
            "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤")
GIVEN = ("伟芳敏丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉兰萍红鹏建林辉斌宇浩凯健"
         "俊帆旭宁琳晨阳博文轩瑞泽昊然欣怡佳宏志国海波晓丹睿卓彦嘉铭锐航远鑫晗煜蕾")
PLACE = "岚屿澄溪枫岙棠汀榕坪鹭沅桐埠芦湄栖苇蓼滨澈峪檀麓莆蔚沂朔渠岑"
FIRM = "鼎嘉禾瑞泓晟恒骏铂璟翔昱澜锦灏弘峻睿曜宸骐麒昶熠琨"
INDUSTRY = ("海洋科技", "智能装备", "新材料", "生物医药", "数字科技", "新能源", "精密制造", "冷链物流",
            "半导体", "航空科技", "环保科技", "文化旅游")
FIRM_FORM = ("有限公司", "股份有限公司", "集团有限公司")
PROJECT_KIND = ("产业园", "研发中心", "综合管廊", "智能制造基地", "物流园", "污水处理厂", "科创中心",
                "数据中心", "文旅小镇", "总部基地")
DISTRICT_SUFFIX = ("区", "新区", "县")
# (office, canonical form, short form used in text or None, a leader's title)
OFFICES = (("商务局", None, "局长"), ("财政局", None, "局长"), ("科技局", None, "局长"),
           ("发展和改革局", "发改局", "局长"), ("住房和城乡建设局", "住建局", "局长"),
           ("工商联", None, "主席"), ("教育和体育局", "教体局", "局长"), ("委统战部", None, "部长"))
MEETINGS = ("创新突破行动动员部署会议", "重点项目集中签约仪式", "民营经济发展座谈会", "招商引资工作推进会",
            "营商环境优化专题会议", "产业链招商对接会")
VERBS = ("推动", "加快", "聚焦", "强化", "深化", "完善", "提升", "打造", "落实", "优化", "培育", "拓展")
OBJECTS = ("高质量发展", "营商环境", "产业链协同", "科技创新能力", "公共服务水平", "重点项目建设",
           "招商引资质效", "企业服务体系", "人才支撑", "数字化转型", "基层治理", "开放合作平台",
           "要素保障", "园区承载能力", "民营经济活力", "绿色低碳发展")
LEADS = ("会议指出", "会议强调", "会议要求", "他表示", "据介绍", "下一步")


@dataclass
class World:
    """The invented cast, drawn from with a heavy head (index = pool * u**3)."""
    cities: list[str]
    districts: list[tuple[str, str, str | None]]  # (name, its city, short form)
    people: list[str]
    firms: list[str]
    projects: list[str]
    posts: dict[str, tuple[str, str, str | None, str]] = field(default_factory=dict)  # person -> post

    @staticmethod
    def pick(pool: list, rng: random.Random):
        return pool[int(len(pool) * rng.random() ** 3)]


def _unique(rng: random.Random, n: int, make) -> list[str]:
    """n distinct names (the makers above have room for twice as many)."""
    seen: dict[str, None] = {}
    while len(seen) < n:
        seen.setdefault(make(rng))
    return list(seen)


def make_world(n_articles: int, seed: int = 7) -> World:
    rng = random.Random(seed)
    scale = max(1.0, n_articles ** 0.6)
    cities = _unique(rng, 6, lambda r: r.choice(PLACE) + r.choice(PLACE) + "市")
    # two-character place names run out (30**2) near 10**6 articles: then three
    n_roots = int(8 + scale / 4)
    width = 2 if n_roots <= len(PLACE) ** 2 // 2 else 3
    roots = _unique(rng, n_roots, lambda r: "".join(r.choice(PLACE) for _ in range(width)))
    districts = []
    for root in roots:
        if root + "市" in cities:
            continue
        suffix = rng.choice(DISTRICT_SUFFIX)
        districts.append((root + suffix, rng.choice(cities), root if suffix == "新区" else None))
    people = _unique(rng, int(60 + 6 * scale), lambda r: r.choice(SURNAMES) + "".join(
        r.choice(GIVEN) for _ in range(2)))
    firms = _unique(rng, int(20 + 2 * scale), lambda r: r.choice(FIRM) + r.choice(FIRM) + r.choice(INDUSTRY)
                    + r.choice(FIRM_FORM))
    n_projects = int(20 + 3 * scale)
    width = 1 if n_projects <= len(FIRM) * len(PLACE) * len(PROJECT_KIND) // 2 else 2
    projects = _unique(rng, n_projects, lambda r: r.choice(FIRM) + "".join(r.choice(PLACE) for _ in range(width))
                       + r.choice(PROJECT_KIND) + "项目")
    world = World(cities, districts, people, firms, projects)
    for person in people:  # everyone holds one post, so the same leader comes back with the same office
        district, _, _ = rng.choice(districts)
        office, short, title = rng.choice(OFFICES)
        world.posts[person] = (district, office, short, title)
    return world


class Writer:
    """Builds one article sentence by sentence, keeping the offset of every name it writes."""

    def __init__(self, doc_id: str):
        self.doc_id = doc_id
        self.paras: list[list[str]] = [[]]
        self.pos = 0
        self.sent: list[str] = []
        self.sent_start = 0
        self.sents: list[tuple[int, int, str]] = []
        self.mentions: list[tuple[str, str, int, int, int]] = []   # name, type, start, end, sentence
        self.aliases: dict[tuple[str, str], set[str]] = {}
        self.rels: list[tuple[str, str, str, int, str | None, int | None, float]] = []

    def say(self, *parts: str | tuple[str, str]) -> None:
        """Text parts; a (name, type) tuple is a mention."""
        for part in parts:
            if isinstance(part, tuple):
                name, kind = part
                self.mentions.append((name, kind, self.pos, self.pos + len(name), len(self.sents)))
                part = name
            self.sent.append(part)
            self.pos += len(part)

    def alias(self, name: str, kind: str, short: str) -> None:
        self.aliases.setdefault((kind, name), set()).add(short)

    def rel(self, head: str, label: str, tail: str, role: str | None = None, amount: int | None = None,
            conf: float = 0.9) -> None:
        self.rels.append((head, label, tail, len(self.sents) - 1, role, amount, conf))  # the sentence just ended

    def end(self) -> None:
        text = "".join(self.sent)
        self.paras[-1].append(text)
        self.sents.append((self.sent_start, self.pos, text))
        self.sent, self.sent_start = [], self.pos

    def para(self) -> None:
        if self.paras[-1]:
            self.paras.append([])
            self.pos += 1  # the "\n" between paragraphs
            self.sent_start = self.pos

    def text(self) -> str:
        return "\n".join("".join(p) for p in self.paras if p)

    def extraction(self, title: str, date: str, reporter: str) -> Extraction:
        text = self.text()
        article = Article(self.doc_id, text, (), source=self.doc_id, sha256=hashlib.sha256(
            text.encode("utf-8")).hexdigest(), title=title, date=date, reporters=(reporter,))
        evidence = [Evidence(self.doc_id, s, i, a, b) for i, (a, b, s) in enumerate(self.sents)]
        by_entity: dict[tuple[str, str], list[Mention]] = {}
        for name, kind, a, b, si in self.mentions:
            by_entity.setdefault((kind, name), []).append(Mention(name, kind, a, b, "synth", evidence[si]))  # type: ignore[arg-type]
        entities = [Entity(name, kind, sorted(self.aliases.get((kind, name), ())), ms,  # type: ignore[arg-type]
                           1.0 if kind == "Person" else 0.9)
                    for (kind, name), ms in by_entity.items()]
        rels: dict[tuple[str, str, str], Relation] = {}
        for head, label, tail, si, role, amount, conf in self.rels:
            rels.setdefault((head, label, tail), Relation(head, label, tail, evidence[si], role, amount, conf))  # type: ignore[arg-type]
        return Extraction(article, entities, sorted(rels.values(), key=lambda r: (r.head, r.relation, r.tail)))


def _filler(w: Writer, rng: random.Random, n: int) -> None:
    for _ in range(n):
        a, b = rng.sample(OBJECTS, 2)
        w.say(rng.choice(LEADS), "，要", rng.choice(VERBS), a, "，", rng.choice(VERBS), b, "，",
              "持续", rng.choice(VERBS), rng.choice(OBJECTS), "。")
        w.end()


def compose(world: World, i: int) -> tuple[Writer, str, str, str]:
    """Article i: (writer, title, date, reporter); deterministic in (world seed, i)."""
    rng = random.Random(i * 1_000_003 + 17)
    home, city, short = world.pick(world.districts, rng)
    reporter = world.pick(world.people, rng)
    meeting = rng.choice(MEETINGS)
    doc_id = f"{i:07d}_{hashlib.sha1(str(i).encode()).hexdigest()[:8]}.txt"
    w = Writer(doc_id)
    date = f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日"
    title = f"{home}召开{meeting}"
    w.say(title)
    w.end()
    w.para()
    w.say("□本报记者 ", (reporter, "Person"))
    w.end()
    w.para()
    w.say(f"本报讯 {date}，", (home, "District"), f"{meeting}召开。")
    w.end()
    if short:
        w.say((home, "District"), "（", (short, "District"), "）位于", (city, "District"), "。")
        w.alias(home, "District", short)
        w.end()
    w.rel(home, "locatedIn", city, conf=0.7)
    for _ in range(rng.randint(4, 8)):  # officials at the meeting
        person = world.pick(world.people, rng)
        district, office, short_office, title_ = world.posts[person]
        org = "区" + office if district == home else district + office
        w.say((org, "Organization"), title_, (person, "Person"), "出席并讲话。")
        w.end()
        w.rel(person, "leads" if rng.random() < 0.5 else "worksFor", org, role=title_, conf=0.9)
        w.rel(org, "locatedIn", district if district != home else home, conf=0.7)
        if short_office and rng.random() < 0.5:
            w.say((org, "Organization"), "（以下简称", ("区" + short_office, "Organization"), "）",
                  rng.choice(VERBS), rng.choice(OBJECTS), "。")
            w.alias(org, "Organization", "区" + short_office)
            w.end()
        _filler(w, rng, rng.randint(5, 9))
        w.para()
    for _ in range(rng.randint(2, 5)):  # signings: a firm invests in a project in the district
        firm, project = world.pick(world.firms, rng), world.pick(world.projects, rng)
        amount = rng.randint(1, 80)
        w.say("会上，", (firm, "Enterprise"), "与", (home, "District"), "签约", (project, "Project"),
              f"，总投资{amount}亿元。")
        w.end()
        w.rel(firm, "invests", project, amount=amount * 100_000_000, conf=0.8)
        w.rel(project, "locatedIn", home, conf=0.6)
        _filler(w, rng, rng.randint(6, 10))
        w.para()
    _filler(w, rng, rng.randint(10, 16))
    return w, title, date, reporter


def extractions(n: int, seed: int = 7, start: int = 0, stop: int | None = None) -> Iterator[Extraction]:
    """The Extraction of articles start..stop-1 of an n-article corpus (the world depends on n)."""
    world = make_world(n, seed)
    for i in range(start, n if stop is None else stop):
        w, title, date, reporter = compose(world, i)
        yield w.extraction(title, date, reporter)


def _wrap(para: str, rng: random.Random) -> str:
    width = rng.choice((15, 16, 17))
    lines = [para[k:k + width] for k in range(0, len(para), width)]
    return "　　" + "\n".join(lines)


def articles(n: int, seed: int = 7) -> Iterator[tuple[str, str]]:
    """(file name, text) of n articles, laid out as newspaper columns (hard-wrapped, indented)."""
    world = make_world(n, seed)
    for i in range(n):
        w, title, _, _ = compose(world, i)
        rng = random.Random(i)
        body = ["".join(p) for p in w.paras[1:] if p]
        yield w.doc_id, " " + title + "\n\n" + "\n".join(_wrap(p, rng) for p in body) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["articles", "records"])
    ap.add_argument("out", type=Path)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.what == "articles":
        args.out.mkdir(parents=True, exist_ok=True)
        for name, text in articles(args.n, args.seed):
            (args.out / name).write_text(text, encoding="utf-8")
    else:
        from kg.stream.records import write_records
        write_records(extractions(args.n, args.seed), args.out)
    print(f"{args.n} {args.what} -> {args.out}/")


if __name__ == "__main__":
    main()
