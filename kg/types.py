"""The typed records that flow between stages: Article -> Extraction -> (merged) graph."""
from __future__ import annotations

from dataclasses import dataclass, field

# The names come from the ontology (kg.schema; kg.vocab.Names in code), not from this file:
# extraction checks span labels against it, and the graph refuses anything it does not declare.
EntityType = str    # an entity class of the ontology: Person, District…
RelationType = str  # a relation of the ontology: leads, worksFor…


@dataclass(frozen=True)
class Article:
    """One input file, decoded and with its newspaper layout undone.

    `text` is what the pipeline reads; `offsets[i]` is the character offset in the
    decoded original file of `text[i]`, so every fact points back into the source.
    """
    doc_id: str                      # file name, e.g. 000_68382d312ed05804.txt
    text: str
    offsets: tuple[int, ...]
    source: str = ""                 # path as given
    encoding: str = "utf-8"
    sha256: str = ""                 # of the raw bytes: the cache key
    title: str | None = None
    date: str | None = None
    reporters: tuple[str, ...] = ()  # from bylines (□本报记者 王雪)

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Offsets in the original file of text[start:end]."""
        if not self.offsets or start >= len(self.offsets):
            return start, end
        return self.offsets[start], self.offsets[max(start, end - 1)] + 1


@dataclass(frozen=True)
class Evidence:
    """Where a fact was read: article, sentence, and character offsets in the original file."""
    doc_id: str
    sentence: str
    sent_index: int
    start: int   # offset of the sentence in the original file
    end: int


@dataclass(frozen=True)
class Mention:
    text: str
    type: EntityType
    start: int   # offsets in Article.text
    end: int
    source: str  # which component found it: ner, lexicon, pattern, byline...
    evidence: Evidence


@dataclass
class Entity:
    """One real thing within one article: a canonical name plus the other forms used."""
    name: str
    type: EntityType
    aliases: list[str] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    confidence: float = 1.0


@dataclass(frozen=True)
class Relation:
    head: str            # canonical entity names within the same Extraction
    relation: RelationType
    tail: str
    evidence: Evidence
    role: str | None = None
    amount: int | None = None   # yuan
    confidence: float = 1.0


@dataclass
class Extraction:
    """Everything one article yields: a pure function of its text."""
    article: Article
    entities: list[Entity]
    relations: list[Relation]

    def to_gold(self) -> dict:
        """The gold format of ANNOTATION.md."""
        return {
            "doc": self.article.doc_id,
            "entities": [{"name": e.name, "type": e.type, "aliases": list(e.aliases)}
                         for e in self.entities],
            "relations": [{k: v for k, v in {
                "head": r.head, "relation": r.relation, "tail": r.tail, "role": r.role,
                "amount": r.amount, "evidence": r.evidence.sentence}.items() if v is not None}
                for r in self.relations],
        }
