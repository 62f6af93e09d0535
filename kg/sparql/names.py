"""The name index the explorer searches: every entity's label and aliases in SQLite, with an FTS5
trigram index for substring search.

SPARQL `FILTER(CONTAINS(...))` scans every label for each keystroke; this index answers a
substring query through trigrams (three or more characters) or, for one or two characters (most
Chinese surnames and short names), by walking the names in degree order until enough match.
It is built from a store folder into `<store>.names.sqlite` beside it (written under a temporary
name and renamed, so a reader never sees half an index) and remembers which store it was built
from, so a reloaded store gets a new index.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg.sparql import PREFIXES

VERSION = "1"  # bump when the tables change: older indexes are then rebuilt
MIN_SQLITE = (3, 34, 0)  # the FTS5 trigram tokenizer


class NameIndexError(RuntimeError):
    """An index that cannot be built or opened; the message names the file."""


@dataclass(frozen=True)
class Hit:
    iri: str
    label: str
    type: str      # class IRI ('' when the entity has no rdf:type)
    degree: int    # relation edges in and out
    match: str     # the name that matched (the label or an alias)
    rank: int      # 0 exact, 1 prefix, 2 substring


def key(text: str) -> str:
    """What is compared: NFKC (full-width letters and brackets fold) and case-folded."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def path_for(store: Path) -> Path:
    return store.with_name(f"{store.name}.names.sqlite")


def fingerprint(store: Path) -> str:
    """Changes when the store folder is replaced (kg build --store loads a new one and renames it)
    or rewritten (RocksDB's CURRENT then names a new MANIFEST)."""
    st = store.stat()
    current = (store / "CURRENT").read_text(encoding="ascii", errors="replace").strip()
    return f"{VERSION}:{st.st_ino}:{st.st_mtime_ns}:{current}"


def check_sqlite() -> None:
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise NameIndexError(f"SQLite {sqlite3.sqlite_version} is too old for the name index (FTS5 trigram "
                          f"needs {'.'.join(map(str, MIN_SQLITE))})")


def is_current(index: Path, store: Path) -> bool:
    try:
        with contextlib.closing(connect(index)) as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'store'").fetchone()
    except (sqlite3.Error, NameIndexError):
        return False
    return row is not None and row[0] == fingerprint(store)


def ensure(store: Path, index: Path | None = None) -> Path:
    """The index of the store folder `store`, built first when missing or stale."""
    index = index or path_for(store)
    check_sqlite()
    if not is_current(index, store):
        db = ox.Store.read_only(str(store))
        try:
            build(db, index, fingerprint(store))
        finally:
            del db  # pyoxigraph closes RocksDB when the store is dropped
    return index


def _rows(store: ox.Store, query: str) -> Iterator[list]:
    result = store.query(query, prefixes=PREFIXES)
    assert isinstance(result, ox.QuerySolutions)
    for row in result:
        yield [t.value if t is not None else None for t in row]


def relations(store: ox.Store) -> list[str]:
    """The relation properties of the graph: those its statements (rdf:predicate) name."""
    return sorted(p for (p,) in _rows(store, "SELECT DISTINCT ?p WHERE { ?st rdf:predicate ?p }"))


def build(store: ox.Store, dest: Path, stamp: str) -> int:
    """Write the index of `store` to `dest` atomically; returns the number of names."""
    check_sqlite()
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    rels = relations(store)
    values = " ".join(f"<{p}>" for p in rels)
    try:
        tmp.unlink(missing_ok=True)
        with contextlib.closing(sqlite3.connect(tmp)) as con:
            con.executescript("""
                PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
                CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE entity(id INTEGER PRIMARY KEY, iri TEXT NOT NULL, label TEXT NOT NULL,
                                    type TEXT NOT NULL, degree INTEGER NOT NULL);
                CREATE TABLE name(id INTEGER PRIMARY KEY, entity INTEGER NOT NULL, name TEXT NOT NULL,
                                  key TEXT NOT NULL, degree INTEGER NOT NULL);
            """)
            degree: dict[str, int] = {}
            if rels:
                for e, n in _rows(store, f"SELECT ?e (COUNT(*) AS ?n) WHERE {{ VALUES ?p {{ {values} }} "
                                         "{ ?e ?p ?o } UNION { ?o ?p ?e } } GROUP BY ?e"):
                    degree[e] = int(n)
            ids: dict[str, int] = {}
            entities, names = [], []
            # one label and one type each (the graph has one of each; extra labels become names)
            for e, label, etype in _rows(store, "SELECT ?e ?l ?t WHERE { ?e rdfs:label ?l OPTIONAL { ?e a ?t } }"):
                d = degree.get(e, 0)
                if e not in ids:
                    ids[e] = len(ids) + 1
                    entities.append((ids[e], e, label, etype or "", d))
                names.append((ids[e], label, key(label), d))
            for e, alias in _rows(store, "SELECT ?e ?a WHERE { ?e skos:altLabel ?a }"):
                if e in ids:
                    names.append((ids[e], alias, key(alias), degree.get(e, 0)))
            con.executemany("INSERT INTO entity VALUES (?, ?, ?, ?, ?)", entities)
            # one row per (entity, key): a label that is also an alias is one name
            seen: set[tuple[int, str]] = set()
            unique = []
            for n in names:
                if (n[0], n[2]) not in seen:
                    seen.add((n[0], n[2]))
                    unique.append(n)
            con.executemany("INSERT INTO name(entity, name, key, degree) VALUES (?, ?, ?, ?)", unique)
            con.executescript("""
                CREATE INDEX name_key ON name(key, degree);
                -- covering: short queries walk it in degree order, reading no table row
                CREATE INDEX name_degree ON name(degree DESC, key, entity);
                CREATE VIRTUAL TABLE name_fts USING fts5(key, content='name', content_rowid='id',
                                                         tokenize='trigram', detail='none');
                INSERT INTO name_fts(name_fts) VALUES ('rebuild');
                ANALYZE;
            """)
            con.executemany("INSERT INTO meta VALUES (?, ?)",
                            [("relations", "\n".join(rels)), ("entities", str(len(entities))),
                             ("names", str(len(unique))), ("store", stamp)])
            con.commit()
        os.replace(tmp, dest)
    except (sqlite3.Error, OSError) as err:
        raise NameIndexError(f"{dest}: cannot write the name index: {err}") from err
    finally:
        tmp.unlink(missing_ok=True)
    return len(unique)


def connect(index: Path) -> sqlite3.Connection:
    """Open the index read-only."""
    check_sqlite()
    if not Path(index).is_file():
        raise NameIndexError(f"{index}: no name index")
    return sqlite3.connect(f"{Path(index).resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)


def meta(con: sqlite3.Connection) -> dict[str, str]:
    return dict(con.execute("SELECT key, value FROM meta"))


def _glob(text: str) -> str:
    """`*text*` with GLOB's wildcards taken literally (keys are case-folded: GLOB's case sensitivity is moot)."""
    return "*" + "".join(f"[{c}]" if c in "*?[" else c for c in text) + "*"


WALK = 20_000  # names read in degree order before a substring search turns to the trigram index


def _substrings(con: sqlite3.Connection, k: str) -> Iterator[tuple[int, str]]:
    """(entity, name) of the names that contain `k`, most connected first, read lazily. The best
    connected names come first: a common substring ("有限公司" in a third of the names) fills a page
    among them, where the trigram index would list and sort every match; a rarer one is then found
    through the trigram index. One or two characters, shorter than a trigram, walk all the names."""
    if len(k) < 3:
        yield from con.execute("SELECT entity, name FROM name INDEXED BY name_degree WHERE instr(key, ?) > 0 "
                               "ORDER BY degree DESC", (k,))
    else:
        yield from con.execute("SELECT n.entity, n.name FROM (SELECT id, key, degree FROM name INDEXED BY "
                               "name_degree ORDER BY degree DESC LIMIT ?) AS w JOIN name AS n ON n.id = w.id "
                               "WHERE instr(w.key, ?) > 0 ORDER BY w.degree DESC", (WALK, k))
        yield from con.execute("SELECT n.entity, n.name FROM name_fts CROSS JOIN name AS n ON n.id = name_fts.rowid "
                               "WHERE name_fts.key GLOB ? ORDER BY n.degree DESC", (_glob(k),))


def search(con: sqlite3.Connection, query: str, limit: int = 20) -> tuple[list[Hit], bool]:
    """Entities whose label or an alias contains `query`: exact matches first, then prefixes,
    then the rest, each by degree (most connected first). Returns (hits, more beyond limit)."""
    k = key(query)
    if not k:
        return [], False
    tiers: list[tuple[int, Iterable[tuple[int, str]]]] = [
        (0, con.execute("SELECT entity, name FROM name WHERE key = ? ORDER BY degree DESC", (k,))),
        (1, con.execute("SELECT entity, name FROM name WHERE key > ? AND key < ? ORDER BY degree DESC",
                        (k, k + "\U0010ffff"))),
        (2, _substrings(con, k)),
    ]
    found: dict[int, tuple[str, int]] = {}
    for rank, matches in tiers:
        for entity, name in matches:
            if entity not in found:
                found[entity] = (name, rank)
                if len(found) > limit:
                    break
        if len(found) > limit:
            break
    order = list(found)[:limit]
    rows = {r[0]: (r[1], r[2], r[3], r[4]) for r in con.execute(
        f"SELECT id, iri, label, type, degree FROM entity WHERE id IN ({','.join('?' * len(order))})", order)}
    hits = [Hit(*rows[e], *found[e]) for e in order]
    return hits, len(found) > limit
