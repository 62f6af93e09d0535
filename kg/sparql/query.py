"""SPARQL queries over the graph (pyoxigraph): read, parameterise, run, and format results.

Formats: `table` (aligned for Chinese: wide characters count two columns), `csv` (SPARQL 1.1
CSV), `json` (SPARQL 1.1 Query Results JSON). CONSTRUCT/DESCRIBE results come out as Turtle
(table), N-Triples (csv) or JSON-LD (json).
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pyoxigraph as ox

from kg.sparql import PREFIXES, one_line, written

Result = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples
FORMATS = ("table", "csv", "json")

UPDATE_KEYWORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
MAX_CELL = 80  # display columns; longer table cells are cut (csv/json keep everything)


class QueryError(ValueError):
    """A query that cannot be read or run; the message is one line."""


def read_query(query: str) -> str:
    """`query` is a .rq/.sparql file path or the SPARQL text itself."""
    path = Path(query)
    looks_like_file = "\n" not in query and "{" not in query and len(query) < 4096
    if looks_like_file and (path.suffix in (".rq", ".sparql") or path.is_file()):
        try:
            return path.read_text(encoding="utf-8-sig")
        except OSError as err:
            raise QueryError(f"{query}: cannot read the query: {err.strerror or err}") from err
        except UnicodeDecodeError as err:
            raise QueryError(f"{query}: the query file is not UTF-8") from err
    return query


# --- looking at a query: a tokenizer of SPARQL's lexical terminals ---------------------------
# (pyoxigraph has no public query parser.) Strings, IRIs, comments, variables and prefixed
# names are whole tokens, so `SERVICE` inside a literal, an IRI, `?SERVICE` or `ex:SERVICE`
# is never taken for the keyword.

_PN = r"[A-Za-z\u00C0-\uFFFF_0-9\u00B7-]"
_TOKEN = re.compile(
    r'(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\')'
    r'|(?P<iri><[^<>"{}|^`\\\s]*>)'
    r"|(?P<comment>#[^\n]*)"
    r"|(?P<var>[?$]" + _PN + r"+)"
    r"|(?P<pname>(?:[A-Za-z\u00C0-\uFFFF](?:[\w.\u00B7\u00C0-\uFFFF-]*[\w\u00B7\u00C0-\uFFFF-])?)?:"
    r"(?:[\w:%\\\u00B7\u00C0-\uFFFF-](?:[\w.:%\\\u00B7\u00C0-\uFFFF-]*[\w:%\\\u00B7\u00C0-\uFFFF-])?)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z_0-9]*)"
    r"|(?P<other>\S)", re.S)


def keywords(query: str) -> list[str]:
    """The query's bare words (keywords, function names, `a`), upper-cased, in order."""
    return [m.group("word").upper() for m in _TOKEN.finditer(query) if m.lastgroup == "word"]


def is_update(query: str) -> bool:
    """True for SPARQL Update requests (INSERT, DELETE, LOAD, DROP…)."""
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(query) if m.lastgroup != "comment"]
    i = 0
    while i < len(tokens) and tokens[i][0] == "word" and tokens[i][1].upper() in ("PREFIX", "BASE"):
        i += 3 if tokens[i][1].upper() == "PREFIX" else 2  # PREFIX p: <iri> / BASE <iri>
    return i < len(tokens) and tokens[i][0] == "word" and tokens[i][1].upper() in UPDATE_KEYWORDS


def uses_service(query: str) -> bool:
    """True when the query federates (SERVICE makes the engine send HTTP requests)."""
    return "SERVICE" in keywords(query)


# --- --param name=value --------------------------------------------------------------------

def parse_term(value: str) -> ox.NamedNode | ox.Literal:
    """`<iri>` is an IRI, `"…"@lang` / `"…"^^<type>` a literal as written, anything else a
    Chinese-tagged literal, because the graph's labels are all `@zh`."""
    value = value.strip()
    if value.startswith(("<", '"')):
        try:
            quad = next(iter(ox.parse(input=f"<urn:s> <urn:p> {value} .".encode(),
                                      format=ox.RdfFormat.N_TRIPLES)))
        except (SyntaxError, StopIteration) as err:
            raise QueryError(f"not an IRI or literal: {value}") from err
        return quad.object
    return ox.Literal(value, language="zh")


def set_params(query: str, params: dict[str, str]) -> str:
    """Replace the `VALUES ?name { … }` binding of each parameter with the given value."""
    for name, value in params.items():
        pattern = re.compile(r"VALUES\s+\?" + re.escape(name) + r"\s*\{[^}]*\}", re.I)
        if not pattern.search(query):
            raise QueryError(f"--param {name}: the query has no `VALUES ?{name} {{ … }}` line to set")
        term = str(parse_term(value))
        query = pattern.sub(lambda _: f"VALUES ?{name} {{ {term} }}", query)  # noqa: B023  (called at once)
    return query


# --- running -------------------------------------------------------------------------------

def run(store: ox.Store, query: str) -> Result:
    """Evaluate a read-only query; syntax errors and updates become a QueryError."""
    if is_update(query):
        raise QueryError("updates are not allowed: the graph is read-only")
    try:
        return store.query(query, prefixes=PREFIXES)
    except (SyntaxError, ValueError, OSError, RuntimeError) as err:
        raise QueryError(f"bad query: {one_line(err)}") from err


def render(result: Result, fmt: str = "table") -> str:
    """The whole result as text in `fmt` (evaluation runs here, errors become QueryError)."""
    try:
        if isinstance(result, ox.QueryBoolean):
            if fmt == "json":
                return written(result.serialize(format=ox.QueryResultsFormat.JSON)).decode() + "\n"
            return ("true" if result else "false") + "\n"
        if isinstance(result, ox.QueryTriples):
            rdf = {"table": ox.RdfFormat.TURTLE, "csv": ox.RdfFormat.N_TRIPLES, "json": ox.RdfFormat.JSON_LD}[fmt]
            # no id: prefix: percent-encoded local names would come out as id:person\/\%E4…
            prefixes = {k: v for k, v in PREFIXES.items() if k != "id"} if fmt == "table" else None
            text = written(ox.serialize(result, format=rdf, prefixes=prefixes)).decode()
            return text if text.endswith("\n") or not text else text + "\n"
        if fmt == "csv":
            return written(result.serialize(format=ox.QueryResultsFormat.CSV)).decode()
        if fmt == "json":
            return written(result.serialize(format=ox.QueryResultsFormat.JSON)).decode() + "\n"
        return table([v.value for v in result.variables], [[cell(t) for t in row] for row in result])
    except (OSError, RuntimeError, ValueError) as err:
        raise QueryError(f"query failed: {one_line(err)}") from err


# --- the table -------------------------------------------------------------------------------

def compact(iri: str) -> str:
    """`id:person/侯万里` for `https://w3id.org/zhkg/id/person/%E4%BE%AF…`: display only."""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns):
            return f"{prefix}:{unquote(iri[len(ns):])}"
    return f"<{unquote(iri)}>"


def cell(term: object) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.Literal):
        return " ".join(term.value.split())  # no line breaks inside a table row
    if isinstance(term, ox.NamedNode):
        return compact(term.value)
    return str(term)  # blank nodes, quoted triples


def width(text: str) -> int:
    """Terminal columns: East Asian wide/fullwidth characters take two, combining marks none."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)


def _cut(text: str, limit: int = MAX_CELL) -> str:
    if width(text) <= limit:
        return text
    out, used = [], 0
    for c in text:
        used += width(c)
        if used > limit - 3:
            break
        out.append(c)
    return "".join(out) + "..."


def _pad(text: str, cols: int) -> str:
    return text + " " * (cols - width(text))


def table(header: list[str], rows: list[list[str]]) -> str:
    rows = [[_cut(c) for c in row] for row in rows]
    cols = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(header)]
    lines = ["  ".join(_pad(h, w) for h, w in zip(header, cols)).rstrip(),
             "  ".join("-" * w for w in cols)]
    lines += ["  ".join(_pad(c, w) for c, w in zip(row, cols)).rstrip() for row in rows]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"
