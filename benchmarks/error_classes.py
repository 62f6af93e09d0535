"""What still fails, by error class: entity and relation errors of `kg extract` output against gold,
counted the way ../shared/tools/score.py matches names (NFKC, no whitespace, aliases stand for
their entity).

    kg extract ARTICLES --out PRED && python benchmarks/error_classes.py --gold GOLD --pred PRED

Entities, per gold type:
  found       right name (or alias), right type
  type        right name, another type
  boundary    no exact name, but a predicted name overlaps it as a substring or superstring
  missed      nothing predicted touches the name
and per predicted type, the false positives:
  type / boundary as above, seen from the prediction's side
  spurious    no gold entity's name or alias shares the string
Relations, per relation:
  found
  end missing   a gold triple whose head or tail the entity side did not produce (exact name)
  not linked    both ends were produced, the relation was not
  false, ends right   a predicted triple between two gold entities that gold does not have
  false, end wrong    a predicted triple with an end that is no gold entity

It only counts: use it on the evaluation part to report, never to choose.
"""
from __future__ import annotations

import argparse
import json
import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path


def norm(s: str | None) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s or ""))


def _forms(doc: dict) -> dict[str, tuple[str, str]]:
    """normalised surface form -> (gold id, type)"""
    out: dict[str, tuple[str, str]] = {}
    for e in doc.get("entities", []):
        gid = norm(e["name"])
        for f in [e["name"], *(e.get("aliases") or [])]:
            out.setdefault(norm(f), (gid, e["type"]))
    return out


def _overlaps(a: str, forms: list[str]) -> bool:
    return any(a != f and (a in f or f in a) for f in forms)


def classify(gold: dict, pred: dict, ents: defaultdict, rels: defaultdict) -> None:
    forms = _forms(gold)
    pred_names = {norm(e["name"]): e["type"] for e in pred.get("entities", [])}
    pred_ids: dict[str, set[str]] = defaultdict(set)  # gold id -> predicted types
    for name, typ in pred_names.items():
        if name in forms:
            pred_ids[forms[name][0]].add(typ)
    gold_by_id = {norm(e["name"]): e for e in gold.get("entities", [])}
    for gid, e in gold_by_id.items():
        mine = [norm(f) for f in [e["name"], *(e.get("aliases") or [])]]
        if e["type"] in pred_ids.get(gid, ()):
            ents[e["type"]]["found"] += 1
        elif gid in pred_ids:
            ents[e["type"]]["FN type"] += 1
        elif any(_overlaps(p, mine) for p in pred_names):
            ents[e["type"]]["FN boundary"] += 1
        else:
            ents[e["type"]]["FN missed"] += 1
    all_forms = list(forms)
    for name, typ in pred_names.items():
        if name in forms:
            if forms[name][1] != typ and typ not in {t for f, (g, t) in forms.items() if g == forms[name][0]}:
                ents[typ]["FP type"] += 1
        elif _overlaps(name, all_forms):
            ents[typ]["FP boundary"] += 1
        else:
            ents[typ]["FP spurious"] += 1

    def ids(name: str) -> str | None:
        f = forms.get(norm(name))
        return f[0] if f else None

    gold_rels = {(ids(r["head"]), r["relation"], ids(r["tail"])) for r in gold.get("relations", [])}
    produced = set(pred_ids)
    pred_rels = set()
    for r in pred.get("relations", []):
        h, t = ids(r["head"]), ids(r["tail"])
        pred_rels.add((h, r["relation"], t))
    for h, rel, t in gold_rels:
        if (h, rel, t) in pred_rels:
            rels[rel]["found"] += 1
        elif h not in produced or t not in produced:
            rels[rel]["FN end missing"] += 1
        else:
            rels[rel]["FN not linked"] += 1
    for h, rel, t in pred_rels - gold_rels:
        rels[rel]["FP ends right" if h is not None and t is not None else "FP end wrong"] += 1


def table(counts: dict[str, Counter], columns: list[str]) -> str:
    lines = [f"  {'':<14}" + "".join(f"{c:>16}" for c in columns)]
    for key in sorted(counts):
        lines.append(f"  {key:<14}" + "".join(f"{counts[key][c]:>16}" for c in columns))
    total = Counter()
    for c in counts.values():
        total.update(c)
    lines.append(f"  {'all':<14}" + "".join(f"{total[c]:>16}" for c in columns))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold", type=Path, required=True)
    ap.add_argument("--pred", type=Path, required=True)
    args = ap.parse_args()
    ents: defaultdict[str, Counter] = defaultdict(Counter)
    rels: defaultdict[str, Counter] = defaultdict(Counter)
    for gp in sorted(args.gold.glob("*.json")):
        pp = args.pred / gp.name
        pred = json.loads(pp.read_text("utf-8")) if pp.exists() else {}
        classify(json.loads(gp.read_text("utf-8")), pred, ents, rels)
    print("entities")
    print(table(ents, ["found", "FN type", "FN boundary", "FN missed", "FP type", "FP boundary", "FP spurious"]))
    print("relations")
    print(table(rels, ["found", "FN end missing", "FN not linked", "FP ends right", "FP end wrong"]))


if __name__ == "__main__":
    main()
