"""spaCy components of zhkg, one per module; importing this package registers them all."""
from kg.pipeline import bounds, entities, ner, relation_rules, relations  # noqa: F401  (registers the factories and rules)
