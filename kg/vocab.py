"""The zhkg ontology's terms, generated from kg/ontology/kg.ttl by
`python -m kg.schema --write-vocab`: do not edit by hand.
"""
from typing import Final

from rdflib.namespace import DefinedNamespace, Namespace
from rdflib.term import URIRef


class KG(DefinedNamespace):
    """The ontology namespace, closed: an undeclared term raises AttributeError."""

    _fail = True
    _NS = Namespace("https://w3id.org/zhkg/ontology#")

    Article: URIRef
    District: URIRef  # A governed or administered place: country, province, city, new area, district, street, town, zone.
    Enterprise: URIRef
    Entity: URIRef
    Evidence: URIRef  # The sentence of an article a statement was read from.
    Mention: URIRef  # One occurrence of an entity's name in an article.
    Organization: URIRef  # A named non-commercial body: party or government department, committee, university, newspaper.
    Person: URIRef
    Project: URIRef  # A named construction, investment or industrial undertaking.
    Statement: URIRef  # A relation triple, reified to carry its confidence and evidence.
    amount: URIRef
    beginIndex: URIRef  # Character offset in the decoded original file (inclusive).
    confidence: URIRef
    displayColor: URIRef  # The colour (#rrggbb) of an entity class in graph views; a class without one gets the next colour of a fixed palette.
    displayOrder: URIRef  # Where an entity class or a relation comes in legends, tables and menus (ascending; terms without one come last, by name).
    endIndex: URIRef  # Character offset in the decoded original file (exclusive).
    evidence: URIRef
    fileName: URIRef
    invests: URIRef  # Invests in, builds, owns or brings in the project.
    leads: URIRef  # The person holds the top post there (书记, 主任, 局长, 董事长…).
    locatedIn: URIRef
    mentionOf: URIRef
    reporter: URIRef
    role: URIRef
    sentence: URIRef
    sentenceIndex: URIRef
    sha256: URIRef
    worksFor: URIRef  # The person holds a named post there (a deputy, a member, a reporter).


class Names:
    """Entity classes and relations by the local name that spaCy spans and records carry."""

    Person: Final = "Person"
    District: Final = "District"
    Organization: Final = "Organization"
    Enterprise: Final = "Enterprise"
    Project: Final = "Project"
    leads: Final = "leads"
    worksFor: Final = "worksFor"
    locatedIn: Final = "locatedIn"
    invests: Final = "invests"
