"""What Superset does with a database URL, as a BI login: introspect with SQLAlchemy's
inspector (schemas, tables, columns), run aggregate queries, and try to read outside
schema bi. Prints one JSON object. Run with Debian's python3 (python3-sqlalchemy,
python3-psycopg2): Superset's PostgreSQL engine is psycopg2 under SQLAlchemy."""
import json
import sys

import sqlalchemy
from sqlalchemy import create_engine, inspect, text

engine = create_engine(sys.argv[1])
inspector = inspect(engine)


def run(sql):
    """Rows of one statement on a fresh connection, or the driver's error class name."""
    try:
        with engine.connect() as conn:
            return [list(row) for row in conn.execute(text(sql))]
    except sqlalchemy.exc.DBAPIError as error:
        return type(error.orig).__name__


out = {"sqlalchemy": sqlalchemy.__version__, "schemas": inspector.get_schema_names(), "tables": {}, "columns": {}, "readable": {}}
for schema in out["schemas"]:
    names = inspector.get_table_names(schema=schema) + inspector.get_view_names(schema=schema)
    if names:
        out["tables"][schema] = names
for name in out["tables"].get("bi", []):
    out["columns"][name] = [c["name"] for c in inspector.get_columns(name, schema="bi")]
    # What a Superset dataset on this view can use: the columns a select succeeds on.
    out["readable"][name] = [c for c in out["columns"][name] if not isinstance(run(f'select "{c}" from bi."{name}" limit 0'), str)]
out["users_by_plan"] = run("select coalesce(plan, '∅'), count(*) from bi.dim_users group by 1 order by 1")
out["regions"] = run("select distinct region from bi.dim_users order by 1")
out["outside"] = {
    f"{schema}.{name}": (lambda r: "readable" if not isinstance(r, str) else r)(run(f'select 1 from "{schema}"."{name}" limit 1'))
    for schema, names in out["tables"].items() if schema != "bi" for name in names
}
print(json.dumps(out, default=str))
