"""Rebuild the shipped NER model from public data (`kg train`).

Sources (read from ../shared/datasets at training time, never copied in):
CLUENER2020 train (name, company, government, organization, address), Resume NER
train (NAME, ORG) and DuIE 2.0 train (entities of its triples, partially labelled). Labels are mapped onto the ontology's types; the last
`dev_size` CLUENER sentences are held out for model selection, so CLUENER's
official dev set stays unseen for the benchmark.
"""
from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from kg.vocab import Names

CONFIG = Path(__file__).with_name("ner.cfg")

CLUENER_MAP = {"name": Names.Person, "company": Names.Enterprise,
               "government": Names.Organization, "organization": Names.Organization}
# An address span counts as a District only when it is one governed place.
_ADMIN_END = re.compile(r"(?:省|市|区|县|镇|乡|村|州|盟|旗|街道|自治区|新区)$")
_ENTERPRISE_HINT = re.compile(r"公司|集团|银行|股份|有限|证券|保险|基金|信托|酒店|工厂|厂$")
_ORG_HINT = re.compile(r"大学|学院|学校|中学|研究院|研究所|委员会|协会|学会|政府|局|厅|部|院|会$|党委|中心$")

Span = tuple[int, int, str]  # start, end (exclusive), label


def _is_place(text: str) -> bool:
    return (bool(_ADMIN_END.search(text)) and len(text) <= 8) or (
        2 <= len(text) <= 3 and not re.search(r"[\dA-Za-z路街号站楼]", text))


def read_cluener(path: Path) -> Iterator[tuple[str, list[Span]]]:
    for line in path.read_text("utf-8").splitlines():
        row = json.loads(line)
        spans: list[Span] = []
        for label, ents in row.get("label", {}).items():
            for text, offsets in ents.items():
                kind = CLUENER_MAP.get(label)
                if label == "address" and _is_place(text):
                    kind = Names.District
                if kind:
                    spans += [(s, e + 1, kind) for s, e in offsets]
        yield row["text"], spans


def read_bmes(path: Path) -> Iterator[tuple[str, list[Span]]]:
    """Resume NER: NAME -> Person, ORG -> Enterprise/Organization by its suffix."""
    chars: list[str] = []
    tags: list[str] = []
    for line in path.read_text("utf-8").splitlines() + [""]:
        if line.strip():
            ch, tag = line.split()
            chars.append(ch)
            tags.append(tag)
            continue
        if chars:
            text, spans, start = "".join(chars), [], None
            for i, tag in enumerate(tags):
                if tag[0] in "BS":
                    start = i
                if tag[0] in "ES" and start is not None:
                    kind, surface = tag[2:], text[start:i + 1]
                    if kind == "NAME":
                        spans.append((start, i + 1, Names.Person))
                    elif kind == "ORG":
                        org = _ORG_HINT.search(surface) and not _ENTERPRISE_HINT.search(surface)
                        spans.append((start, i + 1, Names.Organization if org else Names.Enterprise))
                    start = None
            yield text, spans
        chars, tags = [], []


DUIE_MAP = {"人物": Names.Person, "娱乐人物": Names.Person, "历史人物": Names.Person, "企业": Names.Enterprise,
            "机构": Names.Organization, "学校": Names.Organization, "国家": Names.District, "行政区": Names.District, "城市": Names.District}


def read_duie(path: Path) -> Iterator[tuple[str, list[Span]]]:
    """DuIE 2.0: entities are named by string in its triples, not by offset; every occurrence
    is labelled and the rest of the sentence left *unknown* (see to_docbin), since DuIE
    does not say what else is or is not an entity."""
    for line in path.read_text("utf-8").splitlines():
        row = json.loads(line)
        named: dict[str, str] = {}
        for spo in row.get("spo_list", []):
            named[spo["subject"]] = DUIE_MAP.get(spo["subject_type"], "")
            for key, value in spo["object"].items():
                named[value] = DUIE_MAP.get(spo["object_type"].get(key, ""), "")
        spans = [(m.start(), m.end(), kind) for name, kind in named.items() if kind and len(name) > 1
                 for m in re.finditer(re.escape(name), row["text"])]
        yield row["text"], spans


def to_doc(nlp: Language, text: str, spans: list[Span], partial: bool = False,
           missing: Sequence[tuple[int, int]] = ()) -> Doc:
    """A reference doc: `spans` are entities; with `partial`, every other token is a missing
    value rather than "no entity"; `missing` marks only those stretches as unknown."""
    doc = nlp.make_doc(text)  # char segmenter: every span aligns
    ents: list = []  # spaCy spans (Span here is a tuple)
    taken: set[int] = set()
    for s, e, label in sorted(spans, key=lambda x: (x[0], -(x[1] - x[0]))):
        if taken.isdisjoint(range(s, e)) and (span := doc.char_span(s, e, label)) is not None:
            ents.append(span)
            taken.update(range(s, e))
    unknown = [sp for s, e in missing if taken.isdisjoint(range(s, e))
               and (sp := doc.char_span(s, e, alignment_mode="expand")) is not None]
    doc.set_ents(ents, missing=unknown, default="missing" if partial else "outside")
    return doc


def to_docbin(examples: list[tuple[str, list[Span]]], partial: bool = False) -> DocBin:
    """`partial`: tokens outside the given spans are missing values, not "no entity"."""
    nlp = spacy.blank("zh")
    db = DocBin()
    for text, spans in examples:
        db.add(to_doc(nlp, text, spans, partial))
    return db


def build_corpus(datasets: Path, out: Path, dev_size: int = 1000, seed: int = 0) -> tuple[Path, Path]:
    cluener = list(read_cluener(datasets / "cluener2020" / "train.json"))
    resume = list(read_bmes(datasets / "resume_ner" / "train.char.bmes"))
    duie = list(read_duie(datasets / "duie2_subset" / "duie_train_4000.json"))
    train, dev = cluener[:-dev_size] + resume, cluener[-dev_size:]
    random.Random(seed).shuffle(train)
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "train", out / "dev.spacy"
    paths[0].mkdir(exist_ok=True)  # spaCy's Corpus reads every .spacy file in a folder
    to_docbin(train).to_disk(paths[0] / "full.spacy")
    to_docbin(duie, partial=True).to_disk(paths[0] / "duie.spacy")
    to_docbin(dev).to_disk(paths[1])
    return paths


def train(datasets: Path, work: Path, model_out: Path) -> Path:
    """Convert the data, train with ner.cfg, copy the best model to `model_out`."""
    import shutil

    from spacy.cli.train import train as spacy_train

    train_path, dev_path = build_corpus(datasets, work / "corpus")
    spacy_train(CONFIG, work / "training",
                overrides={"paths.train": str(train_path), "paths.dev": str(dev_path)})
    if model_out.exists():
        shutil.rmtree(model_out)
    shutil.copytree(work / "training" / "model-best", model_out)
    return model_out


if __name__ == "__main__":
    import sys

    root = Path(__file__).resolve().parents[2]
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared" / "datasets"
    print(train(data, root / "build" / "ner", root / "kg" / "models" / "ner"))
