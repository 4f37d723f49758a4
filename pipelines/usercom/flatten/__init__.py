"""Pages → Arrow tables: `tickets`, one child table per list field, history and rejects.

- the entry point, choosing the columnar or the row path per page: `flattener.py`
- what both paths share in a run (column types, tracker, stored names, history/rejects/tombstone tables): `context.py`
- the columnar path (Arrow and NumPy kernels over whole columns): `columnar.py`
- the row path, the reference, which takes every page: `rows.py`
- the known fields and their Arrow types: `fields.py`
- how a value is coerced to its column's type: `coercion.py`
- the column types of fields the code does not know, kept across runs: `column_types.py`
- names as dlt stores them (clashes are rejected): `names.py`
- page bodies parsed into Arrow by pyarrow's JSON reader: `json_reader.py`
- the JSON text parser, and a `Page`'s tickets as parsed JSON for the row path: `json_text.py`
- a page's tables (`FlatPage`, a page's second and last form), and items of thousands of rows for dlt: `tables.py`
- Arrow arrays to and from NumPy without pandas: `numpy_arrays.py`
"""
