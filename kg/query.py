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

Result = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples
FORMATS = ("table", "csv", "json")

# Declared for every query, so inline queries can use kg:, rdfs:… without PREFIX lines;
# a query's own PREFIX declarations win.
PREFIXES = {
    "kg": "https://w3id.org/zhkg/ontology#",
    "id": "https://w3id.org/zhkg/id/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "prov": "http://www.w3.org/ns/prov#",
    "dcterms": "http://purl.org/dc/terms/",
}
UPDATE_KEYWORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
MAX_CELL = 80  # display columns; longer table cells are cut (csv/json keep everything)


class QueryError(ValueError):
    """A query that cannot be read or run; the message is one line."""


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


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


# --- looking at a query without parsing it (pyoxigraph has no public query parser) ---------

# strings, IRIs and comments: blanked before looking for keywords, so `#` or `SERVICE`
# inside a literal or an IRI is not taken for syntax
_NOISE = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
                    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*', re.S)
_FIRST_KEYWORD = re.compile(r"\s*(?:(?:PREFIX\s+[^\s:]*:|BASE)\s*)*([A-Za-z]+)", re.I)


def _skeleton(query: str) -> str:
    return _NOISE.sub(" ", query)


def is_update(query: str) -> bool:
    """True for SPARQL Update requests (INSERT, DELETE, LOAD, DROP…)."""
    m = _FIRST_KEYWORD.match(_skeleton(query))
    return bool(m) and m.group(1).upper() in UPDATE_KEYWORDS


def uses_service(query: str) -> bool:
    """True when the query federates (SERVICE makes the engine send HTTP requests)."""
    return re.search(r"\bSERVICE\b", _skeleton(query), re.I) is not None


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
        raise QueryError(f"bad query: {_one_line(err)}") from err


def render(result: Result, fmt: str = "table") -> str:
    """The whole result as text in `fmt` (evaluation runs here, errors become QueryError)."""
    try:
        if isinstance(result, ox.QueryBoolean):
            if fmt == "json":
                return result.serialize(format=ox.QueryResultsFormat.JSON).decode() + "\n"
            return ("true" if result else "false") + "\n"
        if isinstance(result, ox.QueryTriples):
            rdf = {"table": ox.RdfFormat.TURTLE, "csv": ox.RdfFormat.N_TRIPLES, "json": ox.RdfFormat.JSON_LD}[fmt]
            # no id: prefix: percent-encoded local names would come out as id:person\/\%E4…
            prefixes = {k: v for k, v in PREFIXES.items() if k != "id"} if fmt == "table" else None
            text = ox.serialize(result, format=rdf, prefixes=prefixes).decode()
            return text if text.endswith("\n") or not text else text + "\n"
        if fmt == "csv":
            return result.serialize(format=ox.QueryResultsFormat.CSV).decode()
        if fmt == "json":
            return result.serialize(format=ox.QueryResultsFormat.JSON).decode() + "\n"
        return table([v.value for v in result.variables], [[cell(t) for t in row] for row in result])
    except (OSError, RuntimeError, ValueError) as err:
        raise QueryError(f"query failed: {_one_line(err)}") from err


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
