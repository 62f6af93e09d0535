from rdflib.namespace import DefinedNamespace, Namespace
from rdflib.term import URIRef


class KG(DefinedNamespace):
    """
    The zhkg ontology terms (generated; do not edit by hand).

    Generated from: ontology/kg.ttl by `python -m rdflib.tools.defined_namespace_creator ontology/kg.ttl https://w3id.org/zhkg/ontology# KG`
    """

    _NS = Namespace("https://w3id.org/zhkg/ontology#")

    Article: URIRef  # 
    District: URIRef  # A governed or administered place: country, province, city, new area, district, street, town, zone.
    Enterprise: URIRef  # 
    Entity: URIRef  # 
    Evidence: URIRef  # The sentence of an article a statement was read from.
    Mention: URIRef  # One occurrence of an entity's name in an article.
    Organization: URIRef  # A named non-commercial body: party or government department, committee, university, newspaper.
    Person: URIRef  # 
    Project: URIRef  # A named construction, investment or industrial undertaking.
    Statement: URIRef  # A relation triple, reified to carry its confidence and evidence.
    amount: URIRef  # 
    beginIndex: URIRef  # Character offset in the decoded original file (inclusive).
    confidence: URIRef  # 
    endIndex: URIRef  # Character offset in the decoded original file (exclusive).
    evidence: URIRef  # 
    fileName: URIRef  # 
    invests: URIRef  # Invests in, builds, owns or brings in the project.
    leads: URIRef  # The person holds the top post there (书记, 主任, 局长, 董事长…).
    locatedIn: URIRef  # 
    mentionOf: URIRef  # 
    reporter: URIRef  # 
    role: URIRef  # 
    sentence: URIRef  # 
    sentenceIndex: URIRef  # 
    sha256: URIRef  # 
    worksFor: URIRef  # The person holds a named post there (a deputy, a member, a reporter).
