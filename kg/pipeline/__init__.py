"""spaCy components of zhkg, one per module; importing this package registers them all."""
from kg.pipeline import bounds, entities, ner, relations  # noqa: F401  (registers the factories)
