"""Stages 2 and 3 of `kg train`: the public-data NER (stage 1, kg/training/ner.py) fine-tuned on
the annotated news articles, with public and silver sentences mixed into every epoch; then again,
one CNN block shallower (drop_last_block).

In-domain gold is small (tens of articles) and public data is large, so each epoch repeats the
gold `gold_repeat` times and draws a fresh sample of the public pools (CLUENER, Resume, DuIE
partial labels, LAC silver labels on People's Daily text): the model learns Projects and the
news' naming without forgetting what the public data taught it.
"""
from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
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
from kg.vocab import Names

LABELS = (Names.Person, Names.District, Names.Organization, Names.Enterprise, Names.Project)
Examples = list[tuple[str, list[public.Span]]]
SILVER_DEV = 500


@dataclass(frozen=True)
class Mix:
    """What one epoch holds, and how long training may run."""
    gold_repeat: int = 5
    cluener: int = 1200
    resume: int = 200
    duie: int = 300
    silver: int = 2500
    epochs: int = 10
    max_minutes: float = 20.0
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
        silver_rows = list(silver.read(silver_path)) if silver_path else []
        # the last SILVER_DEV lines are kept out of training: a check of people in newspaper text
        self.silver = [public.to_doc(nlp, t, s, missing=m) for t, s, m in silver_rows[:-SILVER_DEV]]

    def draw(self, mix: Mix, rng: random.Random) -> list[Doc]:
        take = lambda pool, n: rng.sample(pool, min(n, len(pool)))
        return take(self.cluener, mix.cluener) + take(self.resume, mix.resume) + take(self.duie, mix.duie) \
            + take(self.silver, mix.silver)


def finetune(base: Path, gold: Examples, pools: Pools, out: Path, mix: Mix = Mix(),
             log: Callable[[str], None] = print, stage: int = 2) -> Path:
    """Train `base` (a stage-1 model folder) further on `gold` plus pool samples; save to `out`."""
    nlp = spacy.load(base)
    ner = nlp.get_pipe("ner")
    for label in LABELS:
        ner.add_label(label)  # type: ignore[attr-defined]  # Project is new to the public-data model
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
        nlp.meta["kg_training"] = {"stage": stage, "base": base.name, "gold_chunks": len(gold), "mix": asdict(mix)}
        nlp.to_disk(out)
    return out


def gold_examples(shared: Path, articles: list[Path], with_sample: bool = True) -> Examples:
    """Projected gold of `articles` (from shared/news), plus the sample articles of shared/corpus,
    plus their project names alone with the owner at the head labelled."""
    gold_files = [shared / "news" / "gold" / f"{a.stem}.json" for a in articles]
    ex = list(gold_data.examples(articles, shared / "news" / "gold"))
    if with_sample:
        samples = sorted((shared / "corpus").glob("*.txt"))
        ex += gold_data.examples(samples, shared / "gold")
        gold_files += [shared / "gold" / f"{a.stem}.json" for a in samples]
    return ex + list(gold_data.owner_examples(gold_files))


def score_articles(nlp: Language, articles: list[Path], gold_dir: Path,
                   counts: evaluate.Counts | None = None) -> evaluate.Counts:
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


def train(shared: Path, work: Path, model_out: Path, base: Path | None = None, mix: Mix = Mix(),
          log: Callable[[str], None] = print) -> Path:
    """`kg train` for the NER: stage 1 on public data (skipped when `base` is given), LAC silver
    labels (cached in `work`), stage 2 on the training part of shared/news plus the sample articles,
    stage 3 the same on the stage-2 model less its last CNN block. The evaluation part of the split
    is never read."""
    import shutil

    datasets = shared / "datasets"
    if base is None:
        log("stage 1: public data (kg/training/ner.cfg)")
        base = public.train(datasets, work / "stage1", work / "stage1-model")
    log("silver labels: LAC on SIGHAN 2005 raw newspaper text")
    exclude = [text for text, _ in _peoples_daily(datasets)]  # an evaluation set: never a training sentence
    silver_path = silver.teach(datasets, work / "silver" / "lac.jsonl", exclude=exclude)
    split = Path(__file__).with_name("news_split.json")
    articles = gold_data.news_split(split, shared / "news", "train")
    pools = Pools(spacy.blank("zh"), datasets, silver_path)
    log(f"stage 2: {len(articles)} training articles + sample articles, from {base}")
    gold = gold_examples(shared, articles)
    stage2 = finetune(base, gold, pools, work / "stage2-model", mix, log)
    log("stage 3: the stage-2 model less its last CNN block, fine-tuned again the same way")
    tmp = finetune(drop_last_block(stage2, work / "stage3-base"), gold, pools, work / "stage3-model", mix, log, stage=3)
    if model_out.exists():
        shutil.rmtree(model_out)
    shutil.copytree(tmp, model_out)
    return model_out


def drop_last_block(model: Path, out: Path) -> Path:
    """`model` with one residual CNN block fewer (depth 4 -> 3: a quarter less of the CNN's
    computation, which is most of extraction's time), every other weight kept. Fine-tuned
    again (stage 3), it scores as the deeper model did on every held-out measure we have
    (CLUENER and People's Daily dev, relation CV: benchmarks/results/ner_depth.md); trained
    from scratch at depth 3 and narrower, it lost ~2 points."""
    from spacy.util import load_model_from_config
    from thinc.api import Config

    deep = spacy.load(model)
    config = Config().from_disk(model / "config.cfg")
    encode = config["components"]["tok2vec"]["model"]["encode"]
    encode["depth"] -= 1
    shallow = load_model_from_config(config, auto_fill=True)
    for label in deep.get_pipe("ner").labels:  # type: ignore[attr-defined]
        shallow.get_pipe("ner").add_label(label)  # type: ignore[attr-defined]
    shallow.initialize()

    def params(nlp: Language) -> list:  # depth first: the embedding, then the blocks in order
        tok2vec = nlp.get_pipe("tok2vec").model  # type: ignore[attr-defined]
        return [(node, name) for node in tok2vec.walk(order="dfs_pre") for name in node.param_names
                if node.has_param(name)]

    kept, before = params(shallow), params(deep)
    if len(before) - len(kept) != 4:  # the last block's maxout W, b and layernorm G, b
        raise ValueError(f"{model}: unexpected tok2vec layout ({len(before)} parameters, {len(kept)} kept)")
    for (node, name), (old, old_name) in zip(kept, before):
        if name != old_name or node.get_param(name).shape != old.get_param(old_name).shape:
            raise ValueError(f"{model}: unexpected tok2vec layout at {node.name}.{name}")
        node.set_param(name, old.get_param(old_name).copy())
    shallow.get_pipe("ner").model.from_bytes(deep.get_pipe("ner").model.to_bytes())  # type: ignore[attr-defined]
    shallow.vocab.from_bytes(deep.vocab.to_bytes())
    shallow.meta.update(deep.meta)
    shallow.to_disk(out)
    return out


def _peoples_daily(datasets: Path) -> Iterator[tuple[str, list]]:
    """People's Daily NER dev sentences (char per line, blank line between sentences)."""
    chars: list[str] = []
    for line in (datasets / "peoples_daily_ner" / "example.dev").read_text("utf-8").splitlines() + [""]:
        if line.strip():
            chars.append(line.split(" ")[0] or " ")
        elif chars:
            yield "".join(chars), []
            chars = []
