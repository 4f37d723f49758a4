"""The columnar path (pyarrow's JSON reader, then Arrow kernels) against the row-by-row flattener it stands in for.

The contract: for any page, `PageFlattener.flatten_page` (columnar, handing back to the row flattener what it
refuses) gives exactly the tables, column types, registry, version log and tracker state that the row
flattener alone gives; and the sandbox's pages all go the columnar way.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipelines.runs_table import RUNS_TABLE
from pipelines.usercom.errors import NotColumnar
from pipelines.usercom.flatten.column_types import TypeRegistry
from pipelines.usercom.flatten.flattener import PageFlattener
from pipelines.usercom.flatten.json_reader import PageReader
from pipelines.usercom.flatten.json_text import parse_page_body
from pipelines.usercom.http.page import Page, page_head
from pipelines.usercom.state.cursor import UpdatedSince
from pipelines.usercom.state.tracker import RunTracker
from pipelines.usercom.state.versions import VersionLog
from tests.conftest import query, run, seed_tickets
from tests.test_fuzz import EXAMPLES

UTC = UTC
OBSERVED = datetime(2024, 1, 1, tzinfo=UTC)


def body(tickets: list, next_url: str | None = None) -> bytes:
    return orjson.dumps({"count": len(tickets), "next": next_url, "previous": None, "results": tickets})


class FlattenPath:
    """One way through the flatteners: a registry, tracker and version log shared by the pages it is given."""

    def __init__(self, columnar: bool, tombstones: bool, cursor: UpdatedSince, seed: dict | None = None) -> None:
        self.columnar = columnar
        self.reader = PageReader()
        self.flattener = PageFlattener(TypeRegistry(seed), RunTracker(listings=1), tombstone_empty_lists=tombstones,
                                       observed_at=OBSERVED)
        self.cursor = cursor
        self.versions = VersionLog()
        self.columnar_pages = 0

    def flatten(self, pages: list[list]) -> dict[str, dict]:
        """Flattens pages sent together (one batch of the client); returns each table as {column: (type, values)}."""
        bodies = [body(p) for p in pages]
        if self.columnar:
            try:
                tickets = self.reader.read_many(bodies, [None] * len(bodies))
                page = Page("url", 1, bodies, tickets=tickets)
            except NotColumnar:
                page = None
            if page is not None:
                flat = self.flattener.flatten_page(page, listing="active", cursor=self.cursor, versions=self.versions)
                self.columnar_pages += flat.columnar
                return tables_of(flat)
        rows, lenient = [], False
        for b in bodies:
            doc, was_lenient = parse_page_body(b)
            rows += doc["results"]
            lenient |= was_lenient
        flat = self.flattener.flatten(rows, listing="active", cursor=self.cursor, versions=self.versions,
                                      verify_text=lenient)
        return tables_of(flat)

    def state(self) -> tuple:
        registry = self.flattener.registry
        tracker = self.flattener.tracker
        return ({t: registry.columns(t) for t in registry.tables()}, tracker.stale_positions(),
                tracker.repeated_tickets(), self.versions.newest())


def tables_of(flat) -> dict[str, dict]:
    out = {}
    for name, table in flat.tables.items():
        out[name] = {f.name: (f.type, f.nullable, table.column(f.name).to_pylist()) for f in table.schema}
    out["counts"] = {"kept": flat.kept, "skipped": flat.skipped_unchanged, "rejected": flat.rejected}
    return out


def assert_same(batches: list[list[list]], tombstones: bool = False, cursor: UpdatedSince | None = None,
                seed: dict | None = None) -> FlattenPath:
    """Feeds the same batches of pages to both paths (their registries seeded with `seed`, column types of
    earlier runs); every output must be identical. Returns the columnar path."""
    columnar = FlattenPath(True, tombstones, copy.deepcopy(cursor) if cursor else UpdatedSince(), seed)
    rows = FlattenPath(False, tombstones, copy.deepcopy(cursor) if cursor else UpdatedSince(), seed)
    for batch in batches:
        assert columnar.flatten(batch) == rows.flatten(batch)
    assert columnar.state() == rows.state()
    return columnar


# ----- generated pages: mostly well formed, with the drift a real account shows ----------------------------

names = st.sampled_from(["score", "tier", "flag", "note", "Region", "x__y", "meta", "sla", "ü"])
scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.integers(-1000, 1000) | \
    st.floats(allow_nan=False, allow_infinity=False, width=32) | st.text(max_size=8) | \
    st.sampled_from(["2024-05-01T10:00:00Z", "2024-05-01T10:00:00.5+02:00", "2024-05-01", "12", ""])
unknown_values = st.recursive(scalars, lambda inner: st.dictionaries(names, inner, max_size=3), max_leaves=5)
# most accounts send each custom field with one type: these keep theirs (nulls aside)
typed_fields = {"score": st.integers(-1000, 1000), "tier": st.text(max_size=8), "flag": st.booleans(),
                "ratio": st.floats(-1e6, 1e6, allow_nan=False), "since": st.just("2024-05-01T10:00:00Z"),
                "meta": st.fixed_dictionaries({}, optional={"region": st.text(max_size=4), "level": st.integers(0, 5)})}
typed_values = st.sampled_from(sorted(typed_fields)).flatmap(lambda k: st.tuples(st.just(k), st.none() | typed_fields[k]))
api_stamps = st.sampled_from(["2024-05-27T11:31:12.040265Z", "2024-05-27T13:31:12+02:00", "2024-05-28T00:00:00Z"])
odd_stamps = st.sampled_from(["2024-05-27T11:31:12", "2024-05-27 11:31:12Z", "2024-05-27T11:31:12,5Z", "soon", None])


@st.composite
def a_ticket(draw, ticket_id: int) -> dict:
    """A ticket of the reference shape with the drift of a real account; one in ~8 also holds something odd
    (a value of another type, a form only the row path reads, a list the code does not know)."""
    ticket = copy.deepcopy(seed_tickets()[draw(st.integers(0, 1))])
    ticket["id"] = ticket_id
    ticket["updated_at"] = draw(api_stamps)
    for field in ("created_at", "due_date"):
        if draw(st.booleans()):
            ticket[field] = draw(api_stamps | st.none())
    for field in ("assigned_to", "author", "person", "company", "priority"):
        choice = draw(st.integers(0, 4))
        if choice == 0:
            ticket[field] = None
        elif choice == 1:
            ticket[field] = {}
        elif choice == 2:
            key, value = draw(typed_values)
            ticket[field] = {"id": draw(st.integers(1, 9)), key: value}
    for field in ("segments", "participants", "attachments", "status_history"):
        choice = draw(st.integers(0, 4))
        if choice == 0:
            ticket[field] = None
        elif choice == 1:
            ticket[field] = []
        elif choice == 2:
            ticket[field] = [None if draw(st.integers(0, 5)) == 0 else dict([draw(typed_values)])
                             for _ in range(draw(st.integers(0, 3)))]
    for _ in range(draw(st.integers(0, 3))):
        key, value = draw(typed_values)
        ticket[key] = value
    if draw(st.integers(0, 7)) == 0:
        odd = draw(st.integers(0, 6))
        if odd == 0:
            ticket[draw(names)] = draw(unknown_values)  # any JSON under a shared name: types may clash
        elif odd == 1:
            ticket[draw(st.sampled_from(["assigned_to", "priority"]))] = draw(st.integers(1, 9))  # a bare id
        elif odd == 2:
            ticket["tags"] = ["vip", "billing"]  # a list the code does not know: only the row path makes its table
        elif odd == 3:
            ticket["id"] = str(ticket_id)  # an id as text
        elif odd == 4:
            ticket[draw(st.sampled_from(["updated_at", "created_at"]))] = draw(odd_stamps)
        elif odd == 5:
            ticket["segments"] = [draw(scalars)]  # a scalar where objects belong
        else:
            ticket["assigned_to"] = {"id": 1, draw(names): draw(unknown_values)}
    return ticket


@st.composite
def batches(draw) -> list[list[list]]:
    next_id = iter(range(1, 10_000))
    return [[[draw(a_ticket(next(next_id))) for _ in range(draw(st.integers(1, 4)))]
             for _ in range(draw(st.integers(1, 3)))]
            for _ in range(draw(st.integers(1, 3)))]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pages=batches(), tombstones=st.booleans())
def test_columnar_path_gives_exactly_the_row_flatteners_tables_and_state(pages, tombstones):
    path = assert_same(pages, tombstones)
    event(f"{path.columnar_pages} of {len(pages)} batches columnar")


@settings(max_examples=max(10, EXAMPLES // 5), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages=batches(), since=st.sampled_from(["2024-05-27T11:00:00+00:00", "2024-05-27T12:00:00+00:00"]))
def test_the_cursor_skips_the_same_tickets_on_both_paths(pages, since):
    from pipelines.usercom.times import to_micros

    cursor = UpdatedSince(to_micros(datetime.fromisoformat(since)), {1: to_micros(datetime(2024, 5, 28, tzinfo=UTC)),
                                                                     3: 0})
    assert_same(pages, cursor=cursor)


def test_well_formed_pages_take_the_columnar_path_and_drift_does_not_stop_it():
    tickets = [copy.deepcopy(seed_tickets()[i % 2]) for i in range(6)]
    for i, ticket in enumerate(tickets, 1):
        ticket["id"] = i
    tickets[1]["attributes"] = {"csat": 4, "channel": "chat", "since": "2024-05-01T10:00:00Z"}
    tickets[2]["attributes"] = {"csat": None, "language": "pl"}
    tickets[3]["assigned_to"] = {"id": 3, "name": "Agent Carol", "team": "L2"}
    tickets[4]["segments"] = [{"name": "VIP", "url": "/s/1", "weight": 2}, None]
    path = assert_same([[tickets[:3], tickets[3:]], [tickets[:2]]], tombstones=True)
    assert path.columnar_pages == 2
    since = path.flattener.registry.columns("tickets")["attributes__since"]
    assert since == pa.string()  # a timestamp-looking text of an unknown field stays text, as the row path keeps it


def test_values_only_the_row_flattener_reads_hand_the_page_back():
    base = seed_tickets()[0]
    for odd in ({"id": "7"}, {"assigned_to": 5}, {"updated_at": "2024-05-27T11:31:12,5Z"}, {"tags": ["a"]},
                {"segments": {"name": "one"}}, {"priority": {"id": 1.5}}, {"name": 12}):
        path = assert_same([[[dict(copy.deepcopy(base), **odd)]]], tombstones=True)
        assert path.columnar_pages == 0, odd


@pytest.mark.parametrize("first", [5, 4.5, True, "five", "2024-05-01T10:00:00Z", {"a": 1}])
@pytest.mark.parametrize("then", [6, 5.5, 2**60, False, "six", {"a": 2}, None])
def test_a_field_whose_type_changes_between_pages_is_typed_alike_on_both_paths(first, then):
    one, two = copy.deepcopy(seed_tickets()[0]), copy.deepcopy(seed_tickets()[1])
    one["score"], two["score"] = first, then
    assert_same([[[one]], [[two]]])  # e.g. score bigint, then score__v_double; or text, and 6 as "6"


@pytest.mark.parametrize("earlier", [pa.int64(), pa.float64(), pa.bool_(), pa.string(), pa.timestamp("us", tz="UTC")])
@pytest.mark.parametrize("value", [6, 2**60, 5.5, False, "six", "2024-05-01T10:00:00+02:00"])
def test_a_column_typed_by_an_earlier_run_takes_values_alike_on_both_paths(earlier, value):
    ticket = dict(copy.deepcopy(seed_tickets()[0]), score=value)
    assert_same([[[ticket]]], seed={"tickets": {"score": earlier}})


def test_reader_refuses_what_the_json_parser_refuses_or_reads_differently():
    reader = PageReader()
    good = body([seed_tickets()[0]])
    assert len(reader.read(good)[0]) == 1
    for bad in (good.replace(b'"Ticket 1"', b'"T\\ud800"'),  # lone surrogate
                good.replace(b'"Ticket 1"', b'"T\xff"'),  # not UTF-8
                good.replace(b'"id":1,', b'"id":1,"id":2,'),  # a key twice
                good + b"x"):
        with pytest.raises(NotColumnar):
            reader.read_many([bad], [None])
    nan = good.replace(b'"id":1,', b'"id":1,"score":NaN,')
    tickets, _, _ = reader.read(nan)  # the reader takes NaN; the columnar flattener hands the page back
    page = Page("u", 1, [nan], tickets=tickets)
    flattener = PageFlattener(TypeRegistry(), RunTracker(listings=1), tombstone_empty_lists=False, observed_at=OBSERVED)
    assert not flattener.flatten_page(page, listing="x", cursor=UpdatedSince(), versions=VersionLog()).columnar


def test_page_head_reads_count_and_next_before_the_tickets_or_declines():
    assert page_head(body([seed_tickets()[0]], "https://a.user.com/api/public/tickets/?cursor=x")).next_url == \
        "https://a.user.com/api/public/tickets/?cursor=x"
    head = page_head(b'{\n  "count": 0,\n  "next": null,\n  "previous": null,\n  "results" : [ ]\n}')
    assert (head.count, head.next_url, head.empty) == (0, None, True)
    assert page_head(b'{"count":1,"next":null,"results":[{"id":1}]}').empty is False
    assert page_head(b'{"results":[],"count":0,"next":"https://x/2"}') is None  # tickets first: parse it whole
    assert page_head(b'{"count":1,"meta":{"results":1},"next":null,"results":[]}') is None  # a nested `results`
    assert page_head(b'{"count":1,"results":[]}') is None  # no `next` before the tickets
    assert page_head(b'<html>Bad gateway</html>') is None
    assert page_head(b'{"count":1,"next":7,"results":[]}') is None


# ----- through the pipeline, on the sandbox -----------------------------------------------------------------

def all_rows(directory) -> dict[str, list]:
    out = {}
    # the tickets' tables: dlt's own aside, and the run log (each run's times and figures)
    for (table,) in query(directory, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'usercom' "
                                     f"AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\' AND table_name <> '{RUNS_TABLE}'"):
        columns = [c for (c,) in query(directory, "SELECT column_name FROM information_schema.columns WHERE "
                                                  f"table_schema = 'usercom' AND table_name = '{table}'")
                   if not c.startswith("_dlt") and c != "valid_from"]
        select = ", ".join(f'"{c}"' for c in sorted(columns))
        out[table] = sorted(query(directory, f'SELECT {select} FROM usercom."{table}"'), key=repr)
    return out


def test_every_sandbox_page_goes_the_columnar_way_and_loads_what_the_row_flattener_loads(sandbox, tmp_path):
    server = sandbox(tickets=700, page_size=40)
    fast = run(server, tmp_path / "columnar")
    slow = run(server, tmp_path / "rows", source={"columnar": False})
    assert sum(x.pages_row_by_row for x in fast.report.listings.values()) == 0
    assert sum(x.pages_row_by_row for x in slow.report.listings.values()) == sum(x.pages for x in slow.report.listings.values())
    assert all_rows(tmp_path / "columnar") == all_rows(tmp_path / "rows")
    server.update_ticket(server.tickets()[0]["id"], segments=[], name="changed")  # and a re-run after a change
    assert run(server, tmp_path / "columnar").report.listings
    run(server, tmp_path / "rows", source={"columnar": False})
    assert all_rows(tmp_path / "columnar") == all_rows(tmp_path / "rows")


def test_a_page_the_reader_refuses_is_flattened_row_by_row_within_a_columnar_run(sandbox, data_dir):
    tickets = [dict(copy.deepcopy(seed_tickets()[i % 2]), id=i, status="active") for i in range(1, 121)]
    tickets[70]["assigned_to"] = 5  # a bare id, on the second page of 50
    server = sandbox(ticket_list=tickets, page_size=50)
    summary = run(server, data_dir)
    assert summary.report.listings["active"].pages_row_by_row == 1
    assert query(data_dir, "SELECT assigned_to__id FROM usercom.tickets WHERE id = 71") == [(5,)]
    assert query(data_dir, "SELECT count(*) FROM usercom.tickets") == [(120,)]


def test_a_body_cut_short_behind_an_honest_length_is_fetched_again_and_the_run_is_exact(sandbox, data_dir):
    from tests.test_faults_http import assert_tickets_equal, clear_after_first

    server = sandbox(tickets=400, page_size=50, truncate_pages={("closed", 2)})
    clear_after_first(server, "truncate_pages", "truncated")
    summary = run(server, data_dir)
    assert server.stats["truncated"] == 1 and summary.report.listings["closed"].retries == 1
    assert_tickets_equal(data_dir, server.tickets())
