"""`kg`: a thin command line over kg.api.

Exit codes: 0 all good, 1 some articles failed (each named at the end, the rest still
processed), 2 the command failed (bad arguments, an output it cannot write; one line says
why), 3 internal error (a bug: the traceback follows), 130 interrupted (Ctrl-C).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

EXAMPLES = {
    "build": "example:\n  kg build examples/corpus --out output/\n"
             "  kg build news/ --out out/ --segmenter jieba --jobs 2\n"
             "  kg build /shared/news --out /shared/out --scheduler tcp://10.0.0.5:8786",
    "extract": "example:\n  kg extract examples/corpus --out output/json\n  kg extract article.txt --out json/",
    "evaluate": "example:\n  kg evaluate --gold ../shared/gold examples/corpus\n"
                "  kg evaluate --gold gold/ corpus/ --json",
    "train": "example:\n  kg train --datasets ../shared/datasets\n  kg train --only relations\n"
             "  kg train --only ner --base build/ner/stage1-model   # NER stage 2 only",
    "query": "example:\n  kg query output/graph.ttl queries/who_leads_what.rq\n"
             "  kg query output/store queries/entity.rq --param name=侯万里 --format json\n"
             "  kg query output/graph.ttl 'SELECT ?name WHERE { ?p a kg:Person ; rdfs:label ?name }' --format csv\n"
             "(kg:, id:, rdf:, rdfs:, xsd:, owl:, skos:, prov: and dcterms: need no PREFIX line)",
    "serve": "example:\n  kg serve output/graph.ttl --port 8000\n"
             "  kg serve output/store --timeout 5 --max-rows 1000 --workers 4\n"
             "  curl 'http://127.0.0.1:8000/sparql' --data-urlencode 'query=ASK { ?s a kg:Person }'\n"
             "limits: a query past --timeout is stopped (504), answers stop at --max-rows (X-Truncated),\n"
             "over --workers + --max-queue requests get 503 with Retry-After; access log: JSON lines on stderr",
    "validate": "example:\n  kg validate output/graph.ttl\n  kg validate output/graph.ttl --shapes my_shapes.ttl\n"
                "exit codes: 0 conforms, 1 violations (one line each), 2 unreadable file",
}


class UsageError(Exception):
    pass


def _progress(desc: str, unit: str = "article") -> Callable[[Iterable], Iterable]:
    def wrap(items: Iterable) -> Iterable:
        if not sys.stderr.isatty():
            return items
        from tqdm import tqdm
        return tqdm(items, desc=desc, unit=unit)
    return wrap


def _pipeline(args: argparse.Namespace):
    from kg import nlp
    try:
        return nlp.build(args.segmenter, args.pkuseg_model, args.model)
    except (ValueError, OSError) as err:
        raise UsageError(str(err)) from err


def _run(args: argparse.Namespace, out: Path | None = None):
    """Extract the corpus; with `out`, first check that the output folder is usable (after the
    arguments and the pipeline, before the long part)."""
    from kg import api, publish
    from kg.ingest import IngestError
    if not args.path.exists():
        raise UsageError(f"{args.path}: no such file or folder")
    nlp = _pipeline(args)
    if out is not None:
        try:
            publish.ready(out)
        except publish.OutputError as err:
            raise UsageError(str(err)) from err
    try:
        return api.run(args.path, nlp, _progress(args.command), args.jobs, args.max_bytes,
                       follow_symlinks=args.follow_symlinks)
    except IngestError as err:  # an empty folder: nothing to read at all
        return api.Run(failures=[api.Failure(str(err.path), err.reason)])


def _report(failures: list) -> int:
    for f in failures:
        print(f"failed: {f}", file=sys.stderr)
    return 1 if failures else 0


def cmd_build(args: argparse.Namespace) -> int:
    from kg import api
    from kg.schema import SchemaError
    from kg.stream.cluster import ClusterError
    try:
        report = api.build(args.path, args.out, segmenter=args.segmenter, pkuseg_model=args.pkuseg_model,
                           model=args.model, jobs=args.jobs, max_bytes=args.max_bytes, cache=not args.no_cache,
                           store=args.store, progress=_progress(args.command, unit="partition"),
                           follow_symlinks=args.follow_symlinks, html_max_nodes=args.html_max_nodes,
                           scheduler=args.scheduler)
    except (api.BuildError, SchemaError, ClusterError) as err:
        raise UsageError(str(err)) from err
    if report.articles:
        print(report.summary())
    if report.store_triples is not None:
        print(f"store: {report.store_triples} triples in {args.store}/")
    return _report(report.failures)


def cmd_extract(args: argparse.Namespace) -> int:
    from kg.export import files
    result = _run(args, out=args.out)
    for ex in result.extractions:
        files.write_json(ex, args.out)
    print(f"{len(result.extractions)} articles -> {args.out}/")
    return _report(result.failures)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from kg import evaluate
    if not args.gold.is_dir():
        raise UsageError(f"{args.gold}: not a folder of gold JSON files")
    result = _run(args)
    preds = {Path(ex.article.doc_id).stem: ex.to_gold() for ex in result.extractions}
    scores = evaluate.score(args.gold, preds)
    print(json.dumps(scores, ensure_ascii=False, indent=2) if args.json else evaluate.table(scores))
    return _report(result.failures)


def cmd_train(args: argparse.Namespace) -> int:
    shared = args.datasets.parent
    if args.only in (None, "ner"):
        from dataclasses import replace

        from kg.training import ner_finetune
        if not (args.datasets / "cluener2020" / "train.json").exists():
            raise UsageError(f"{args.datasets}: no cluener2020/train.json there")
        if args.base and not (args.base / "meta.json").exists():
            raise UsageError(f"{args.base}: no spaCy model there")
        mix = replace(ner_finetune.Mix(), max_minutes=args.max_minutes)
        print(ner_finetune.train(shared, args.work, args.output, args.base, mix))
    if args.only in (None, "relations"):  # after the NER: the relation model learns from its entities
        from kg.training import relations
        if not (shared / "news" / "gold").is_dir():
            raise UsageError(f"{shared}: no news/gold there (the annotated articles)")
        print(relations.rebuild(shared, args.relations_output))
    return 0


def _open_graph(path: Path):
    from kg.sparql import store
    try:
        return store.open_graph(path)
    except store.StoreError as err:
        raise UsageError(str(err)) from err


def cmd_query(args: argparse.Namespace) -> int:
    from kg.sparql import query
    graph = _open_graph(args.graph)
    try:
        text = query.set_params(query.read_query(args.query), dict(args.param))
        sys.stdout.write(query.render(query.run(graph, text), args.format))
    except query.QueryError as err:
        raise UsageError(str(err)) from err
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import logging
    import signal

    from kg.sparql import serve, store
    limits = serve.Limits(timeout=args.timeout, max_rows=args.max_rows, workers=args.workers,
                          max_queue=args.max_queue)
    try:
        server = serve.make_server(args.graph, args.host, args.port, limits)
    except store.StoreError as err:
        raise UsageError(str(err)) from err
    except OSError as err:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}") from err
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}: other machines can query this graph", file=sys.stderr)
    print(f"SPARQL endpoint (read-only): {server.url}  — Ctrl-C to stop", file=sys.stderr)
    handler = logging.StreamHandler(sys.stderr)  # the access log: one JSON line per request
    handler.setFormatter(logging.Formatter("%(message)s"))
    if not args.quiet:
        serve.access_log.addHandler(handler)
        serve.access_log.setLevel(logging.INFO)
    def terminated(signum: int, frame: object) -> None:
        raise KeyboardInterrupt
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again: make SIGTERM
    # end like Ctrl-C, so that the temporary store is removed
    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        serve.access_log.removeHandler(handler)
        server.close()
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from kg import validate
    try:
        report = validate.validate(args.graph, args.shapes, args.ontology)
    except validate.ValidateError as err:
        raise UsageError(str(err)) from err
    for violation in report.violations:
        print(violation)
    print(f"{args.graph}: {report.triples} triples, "
          + ("conforms" if report.conforms else f"does not conform: {len(report.violations)} violation(s)"))
    return 0 if report.conforms else 1


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    """An argparse type: a number above zero (`--jobs 0`, `--timeout -1` are usage errors)."""
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def _param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip().lstrip("?"), value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kg", description="Knowledge graphs from Chinese news articles.")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, help_: str, func) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_, epilog=EXAMPLES[name],
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        sp.set_defaults(func=func)
        return sp

    def corpus_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("path", type=Path, help="a .txt article or a folder of them (UTF-8 or GB18030)")
        sp.add_argument("--segmenter", choices=["char", "jieba", "pkuseg"], default="char",
                        help="word segmenter (default: char)")
        sp.add_argument("--pkuseg-model", type=Path, help="a pkuseg model folder (with --segmenter pkuseg)")
        sp.add_argument("--model", help="an installed spaCy pipeline to use as base, e.g. zh_core_web_sm")
        sp.add_argument("--jobs", type=_positive(int), default=1, help="processes for extraction (default: 1)")
        sp.add_argument("--max-bytes", type=_positive(int), default=20_000_000,
                        help="skip larger files (default: 20 MB)")
        sp.add_argument("--follow-symlinks", action="store_true",
                        help="read symlinks that point out of the corpus folder (default: skip them, with a message)")

    b = command("build", "Build the graph: graph.ttl, graph.html, graph.graphml, entities.csv, relations.csv.",
                cmd_build)
    corpus_args(b)
    b.add_argument("--out", type=Path, default=Path("output"), help="output folder (default: output)")
    b.add_argument("--no-cache", action="store_true",
                   help="re-extract every article (default: reuse OUT/.cache for unchanged articles)")
    b.add_argument("--html-max-nodes", type=_positive(int), default=2000, metavar="N",
                   help="graph.html shows the N most connected entities and the edges among them (default: 2000)")
    b.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask cluster: a scheduler address (tcp://host:8786), or `local` for a "
                        "LocalCluster of --jobs workers; the workers must see PATH and --out at the same paths")
    b.add_argument("--store", type=Path, help="also load the graph into an on-disk SPARQL store folder "
                                             "(for kg query / kg serve on big graphs)")
    e = command("extract", "Write one JSON per article, in the gold format of ANNOTATION.md.", cmd_extract)
    corpus_args(e)
    e.add_argument("--out", type=Path, default=Path("output/json"), help="output folder")
    v = command("evaluate", "Score extraction against gold JSON files: P/R/F1 per type and relation.",
                cmd_evaluate)
    corpus_args(v)
    v.add_argument("--gold", type=Path, required=True, help="folder of <stem>.json gold files")
    v.add_argument("--json", action="store_true", help="machine-readable output")
    t = command("train", "Rebuild the shipped models from ../shared: the NER (public datasets, silver labels, "
                "the training part of the annotated news), then the relation model.", cmd_train)
    t.add_argument("--datasets", type=Path, default=Path("../shared/datasets"), help="the datasets folder")
    t.add_argument("--base", type=Path, help="a stage-1 (public data) NER model: skip NER stage 1")
    t.add_argument("--max-minutes", type=float, default=30.0, help="time cap of NER stage 2 (default: 30)")
    t.add_argument("--work", type=Path, default=Path("build/ner"), help="scratch folder")
    t.add_argument("--output", type=Path, default=Path(__file__).parent / "models" / "ner",
                   help="where the trained model goes")
    t.add_argument("--relations-output", type=Path, default=Path(__file__).parent / "models" / "relations",
                   help="where the trained relation model goes")
    t.add_argument("--only", choices=("ner", "relations"), help="rebuild one model only")
    graph_help = "graph.ttl (or another RDF file) or a store folder made by kg build --store"
    qp = command("query", "Run a SPARQL query (a .rq file or inline text) on the graph.", cmd_query)
    qp.add_argument("graph", type=Path, help=graph_help)
    qp.add_argument("query", help="a .rq file or the SPARQL text; ready queries are in queries/")
    qp.add_argument("--format", choices=["table", "csv", "json"], default="table",
                    help="table (long cells cut; the default), csv, or json (SPARQL results JSON); "
                         "CONSTRUCT gives Turtle, N-Triples or JSON-LD")
    qp.add_argument("--param", type=_param, action="append", default=[], metavar="NAME=VALUE",
                    help="set the query's `VALUES ?NAME { … }` line: a name (taken as @zh), <iri> or \"literal\"@lang")
    sv = command("serve", "Serve the graph as a read-only SPARQL endpoint at /sparql.", cmd_serve)
    sv.add_argument("graph", type=Path, help=graph_help)
    sv.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    sv.add_argument("--timeout", type=_positive(float), default=10.0,
                    help="seconds a query may run; it is stopped after (default: 10)")
    sv.add_argument("--max-rows", type=_positive(int), default=10_000,
                    help="rows (or triples) per answer; the first ones are sent (default: 10000)")
    sv.add_argument("--workers", type=_positive(int), default=os.cpu_count() or 2,
                    help="queries evaluated at once, one process each (default: the CPU count)")
    sv.add_argument("--max-queue", type=_positive(int), default=512,
                    help="requests that may wait for a free worker; more get 503 (default: 512)")
    sv.add_argument("--quiet", action="store_true", help="no access log (default: one JSON line per request)")
    va = command("validate", "Check the graph against the SHACL shapes (shapes.ttl and those kg.ttl implies).",
                 cmd_validate)
    va.add_argument("graph", type=Path, help=graph_help)
    va.add_argument("--shapes", type=Path, help="SHACL shapes (default: the packaged kg/ontology/shapes.ttl)")
    va.add_argument("--ontology", type=Path, help="ontology: RDFS inference and the shapes it implies "
                                                 "(default: $KG_ONTOLOGY, else the packaged kg.ttl)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as err:
        print(f"kg {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outputs are published whole or not at all: nothing half-written
        print(f"kg {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as err:  # disk full, permissions: the environment, not the input
        where = f"{err.filename}: " if err.filename else ""
        print(f"kg {args.command}: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except Exception:
        import traceback
        traceback.print_exc()
        print(f"kg {args.command}: internal error (a bug; the traceback is above)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
