"""Stage 2 of `kg train`: the public-data NER (stage 1, kg/training/ner.py) fine-tuned on the
annotated news articles, with public and silver sentences mixed into every epoch.

In-domain gold is small (tens of articles) and public data is large, so each epoch repeats the
gold `gold_repeat` times and draws a fresh sample of the public pools (CLUENER, Resume, DuIE
partial labels, LAC silver labels on People's Daily text): the model learns Projects and the
news' naming without forgetting what the public data taught it.
"""
from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.training.batchers import minibatch_by_words
from thinc.api import Adam

from kg import evaluate
from kg.training import gold as gold_data
from kg.training import ner as public
from kg.training import silver

LABELS = ("Person", "District", "Organization", "Enterprise", "Project")
Examples = list[tuple[str, list[public.Span]]]


@dataclass(frozen=True)
class Mix:
    """What one epoch holds, and how long training may run."""
    gold_repeat: int = 4
    cluener: int = 1500
    resume: int = 300
    duie: int = 300
    silver: int = 2000
    epochs: int = 6
    max_minutes: float = 12.0
    learn_rate: float = 0.001
    dropout: float = 0.15
    batch_chars: int = 2000
    seed: int = 0


class Pools:
    """Public and silver reference docs, built once and sampled per epoch."""

    def __init__(self, nlp: Language, datasets: Path, silver_path: Path | None):
        self.cluener = [public.to_doc(nlp, t, s) for t, s in public.read_cluener(datasets / "cluener2020" / "train.json")]
        self.resume = [public.to_doc(nlp, t, s) for t, s in public.read_bmes(datasets / "resume_ner" / "train.char.bmes")]
        self.duie = [public.to_doc(nlp, t, s, partial=True)
                     for t, s in public.read_duie(datasets / "duie2_subset" / "duie_train_4000.json")]
        self.silver = [public.to_doc(nlp, t, s, missing=m) for t, s, m in silver.read(silver_path)] \
            if silver_path else []

    def draw(self, mix: Mix, rng: random.Random) -> list[Doc]:
        take = lambda pool, n: rng.sample(pool, min(n, len(pool)))
        return take(self.cluener, mix.cluener) + take(self.resume, mix.resume) + take(self.duie, mix.duie) \
            + take(self.silver, mix.silver)


def finetune(base: Path, gold: Examples, pools: Pools, out: Path, mix: Mix = Mix(),
             log: Callable[[str], None] = print) -> Path:
    """Train `base` (a stage-1 model folder) further on `gold` plus pool samples; save to `out`."""
    nlp = spacy.load(base)
    ner = nlp.get_pipe("ner")
    for label in LABELS:
        ner.add_label(label)  # Project is new to the public-data model
    rng = random.Random(mix.seed)
    gold_docs = [public.to_doc(nlp, t, s) for t, s in gold]
    optimizer = Adam(mix.learn_rate, L2=0.01, grad_clip=1.0, use_averages=True)
    nlp.resume_training(sgd=optimizer)
    t0 = time.monotonic()
    for epoch in range(mix.epochs):
        docs = gold_docs * mix.gold_repeat + pools.draw(mix, rng)
        rng.shuffle(docs)
        examples = [Example(nlp.make_doc(d.text), d) for d in docs]
        losses: dict[str, float] = {}
        for batch in minibatch_by_words(examples, size=mix.batch_chars):
            nlp.update(batch, drop=mix.dropout, sgd=optimizer, losses=losses)
        minutes = (time.monotonic() - t0) / 60
        log(f"epoch {epoch + 1}: {len(docs)} docs, ner loss {losses.get('ner', 0):.1f}, {minutes:.1f} min")
        if minutes * (epoch + 2) / (epoch + 1) > mix.max_minutes:
            log(f"stopping: another epoch would pass {mix.max_minutes} min")
            break
    out.mkdir(parents=True, exist_ok=True)
    with nlp.use_params(optimizer.averages):
        nlp.meta["kg_training"] = {"stage": 2, "base": str(base), "gold_chunks": len(gold), "mix": asdict(mix)}
        nlp.to_disk(out)
    return out


def gold_examples(shared: Path, articles: list[Path], with_sample: bool = True) -> Examples:
    """Projected gold of `articles` (from shared/news), plus the sample articles of shared/corpus."""
    ex = list(gold_data.examples(articles, shared / "news" / "gold"))
    if with_sample:
        ex += gold_data.examples(sorted((shared / "corpus").glob("*.txt")), shared / "gold")
    return ex


def score_articles(nlp: Language, articles: list[Path], gold_dir: Path,
                   counts: "evaluate.Counts | None" = None) -> "evaluate.Counts":
    """The whole pipeline on `articles`, scored against their gold files (added to `counts`:
    folds of a cross-validation pool their counts; `evaluate.summary` gives P/R/F1)."""
    from kg.extract import extract
    from kg.ingest import read_article

    counts = counts or evaluate.Counts()
    for path in articles:
        article = read_article(path)
        pred = extract(nlp(article.text), article).to_gold()
        evaluate.score_doc(json.loads((gold_dir / f"{path.stem}.json").read_text("utf-8")), pred, counts)
    return counts
