"""spaCy components of zhkg, one per module; importing this package registers them all.

The factories leave `nlp` unannotated: spaCy 3.8.6 (pinned, see pyproject.toml) checks a
factory's arguments with a pydantic v1 model built from its signature, and under postponed
annotations it cannot resolve `Language` (explosion/spaCy#7344)."""
from kg.pipeline import bounds, entities, ner, relation_rules, relations  # noqa: F401  (registers the factories and rules)
