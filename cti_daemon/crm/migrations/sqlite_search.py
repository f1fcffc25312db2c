"""SQLite's any-part search index: one row per search key in `search_terms` (a customer's name, each
phone's digits, each vehicle's VIN and plate), an FTS5 trigram index over it, and triggers that keep both
in step with the tables, whoever writes to them.

The FTS5 tables (one for names, one for phones, one for VINs and plates) are "external content" keyed by
`search_terms.id`, an INTEGER PRIMARY KEY: such a rowid never changes, even across VACUUM (the customers'
and vehicles' implicit rowids may). A later migration that rebuilds customers, phones or vehicles in batch
mode (copy and rename) drops their triggers with them and must create them again (TABLE_TRIGGERS).
"""

from __future__ import annotations

# Which FTS table indexes which search_terms.field: a query reads only the index of the fields it can
# match, so a LIMIT on the index scan bounds the work without losing matches of another field.
FTS_TABLES = {
    "name": "search_fts_name",
    "phone": "search_fts_phone",
    "vin": "search_fts_car",
    "plate": "search_fts_car",
}
_FIELDS_OF = {"search_fts_name": "'name'", "search_fts_phone": "'phone'", "search_fts_car": "'vin', 'plate'"}


def _route(row: str, command: str) -> str:
    """One INSERT per FTS table, taken only by the rows of its fields."""
    if command == "insert":
        return "\n".join(
            f"INSERT INTO {fts} (rowid, value) SELECT {row}.id, {row}.value WHERE {row}.field IN ({fields});"
            for fts, fields in _FIELDS_OF.items()
        )
    return "\n".join(
        f"INSERT INTO {fts} ({fts}, rowid, value) SELECT 'delete', {row}.id, {row}.value "
        f"WHERE {row}.field IN ({fields});"
        for fts, fields in _FIELDS_OF.items()
    )


TABLES = [
    """CREATE TABLE search_terms (
        id INTEGER PRIMARY KEY,
        customer_id VARCHAR(64) NOT NULL,
        field VARCHAR(8) NOT NULL,
        ref VARCHAR(64) NOT NULL,
        value TEXT NOT NULL
    )""",
    "CREATE INDEX ix_search_terms_ref ON search_terms (field, ref)",
    "CREATE INDEX ix_search_terms_customer ON search_terms (customer_id)",
    *(
        f"CREATE VIRTUAL TABLE {fts} USING fts5("
        "value, content='search_terms', content_rowid='id', tokenize='trigram')"
        for fts in _FIELDS_OF
    ),
]
# The FTS indexes follow search_terms (the FTS5 manual's external-content triggers, routed by field).
FTS_TRIGGERS = [
    f"CREATE TRIGGER search_terms_ai AFTER INSERT ON search_terms BEGIN\n{_route('new', 'insert')}\nEND",
    f"CREATE TRIGGER search_terms_ad AFTER DELETE ON search_terms BEGIN\n{_route('old', 'delete')}\nEND",
    f"CREATE TRIGGER search_terms_au AFTER UPDATE ON search_terms BEGIN\n{_route('old', 'delete')}\n"
    f"{_route('new', 'insert')}\nEND",
]
# search_terms follows the tables.
TABLE_TRIGGERS = [
    """CREATE TRIGGER customers_search_ai AFTER INSERT ON customers BEGIN
        INSERT INTO search_terms (customer_id, field, ref, value)
        VALUES (new.id, 'name', new.id, new.name_search);
    END""",
    """CREATE TRIGGER customers_search_au AFTER UPDATE OF name_search ON customers BEGIN
        UPDATE search_terms SET value = new.name_search WHERE field = 'name' AND ref = new.id;
    END""",
    """CREATE TRIGGER customers_search_ad AFTER DELETE ON customers BEGIN
        DELETE FROM search_terms WHERE customer_id = old.id;
    END""",
    """CREATE TRIGGER phones_search_ai AFTER INSERT ON phones BEGIN
        INSERT INTO search_terms (customer_id, field, ref, value)
        VALUES (new.customer_id, 'phone', CAST(new.id AS TEXT), new.digits);
    END""",
    """CREATE TRIGGER phones_search_au AFTER UPDATE OF digits, customer_id ON phones BEGIN
        UPDATE search_terms SET value = new.digits, customer_id = new.customer_id
        WHERE field = 'phone' AND ref = CAST(new.id AS TEXT);
    END""",
    """CREATE TRIGGER phones_search_ad AFTER DELETE ON phones BEGIN
        DELETE FROM search_terms WHERE field = 'phone' AND ref = CAST(old.id AS TEXT);
    END""",
    """CREATE TRIGGER vehicles_search_ai AFTER INSERT ON vehicles BEGIN
        INSERT INTO search_terms (customer_id, field, ref, value)
        SELECT new.customer_id, 'vin', new.id, new.vin WHERE new.vin IS NOT NULL;
        INSERT INTO search_terms (customer_id, field, ref, value)
        SELECT new.customer_id, 'plate', new.id, new.plate_key WHERE new.plate_key IS NOT NULL;
    END""",
    """CREATE TRIGGER vehicles_search_au AFTER UPDATE OF vin, plate_key, customer_id ON vehicles BEGIN
        DELETE FROM search_terms WHERE field = 'vin' AND ref = old.id;
        DELETE FROM search_terms WHERE field = 'plate' AND ref = old.id;
        INSERT INTO search_terms (customer_id, field, ref, value)
        SELECT new.customer_id, 'vin', new.id, new.vin WHERE new.vin IS NOT NULL;
        INSERT INTO search_terms (customer_id, field, ref, value)
        SELECT new.customer_id, 'plate', new.id, new.plate_key WHERE new.plate_key IS NOT NULL;
    END""",
    """CREATE TRIGGER vehicles_search_ad AFTER DELETE ON vehicles BEGIN
        DELETE FROM search_terms WHERE field = 'vin' AND ref = old.id;
        DELETE FROM search_terms WHERE field = 'plate' AND ref = old.id;
    END""",
]
# Rows already in the tables (a database upgraded from the spine, a bulk load).
FILL = """INSERT INTO search_terms (customer_id, field, ref, value)
        SELECT id, 'name', id, name_search FROM customers
        UNION ALL SELECT customer_id, 'phone', CAST(id AS TEXT), digits FROM phones
        UNION ALL SELECT customer_id, 'vin', id, vin FROM vehicles WHERE vin IS NOT NULL
        UNION ALL SELECT customer_id, 'plate', id, plate_key FROM vehicles WHERE plate_key IS NOT NULL"""
# The FTS indexes of rows put in search_terms while their triggers were away (a bulk load).
FILL_FTS = [
    f"INSERT INTO {fts} (rowid, value) SELECT id, value FROM search_terms WHERE field IN ({fields})"  # noqa: S608
    for fts, fields in _FIELDS_OF.items()
]
CREATE = [*TABLES, *FTS_TRIGGERS, *TABLE_TRIGGERS, FILL]
