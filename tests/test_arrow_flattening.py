"""The page flattener on its own: typing, every ISO 8601 form, drift, and values that must never be lost."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pyarrow as pa

from pipelines.usercom.flatten.column_types import TypeRegistry
from pipelines.usercom.flatten.flattener import PageFlattener
from pipelines.usercom.state.cursor import UpdatedSince
from pipelines.usercom.state.tracker import RunTracker
from pipelines.usercom.state.versions import VersionLog
from tests.conftest import seed_tickets

UTC = UTC


def flatten(tickets, registry=None, tombstones=False):
    flattener = PageFlattener(registry or TypeRegistry(), RunTracker(listings=1), tombstone_empty_lists=tombstones,
                              observed_at=datetime(2024, 1, 1, tzinfo=UTC))
    return flattener.flatten(tickets, listing="active", cursor=UpdatedSince(), versions=VersionLog())


def ticket(**changes):
    base = copy.deepcopy(seed_tickets()[0])
    base.update(changes)
    return base


def test_timestamps_in_every_iso_form_become_utc():
    page = flatten([
        ticket(id=1, created_at="2020-11-18T10:06:56.871986+02:00"),
        ticket(id=2, created_at="2020-11-18T08:06:56,871986Z"),
        ticket(id=3, created_at="2020-11-18T08:06:56.871986"),
        ticket(id=4, created_at="2020-11-18T08:06:56Z", due_date="2020-11-25"),
    ])
    created = page.tables["tickets"].column("created_at").to_pylist()
    assert created[:3] == [datetime(2020, 11, 18, 8, 6, 56, 871986, tzinfo=UTC)] * 3
    assert created[3] == datetime(2020, 11, 18, 8, 6, 56, tzinfo=UTC)
    assert page.tables["tickets"].column("due_date").to_pylist()[3] == datetime(2020, 11, 25, tzinfo=UTC)
    assert page.tables["tickets"].schema.field("created_at").type == pa.timestamp("us", tz="UTC")


def test_lossless_coercions_keep_the_ticket():
    page = flatten([ticket(id="12", priority=3, participants=None, attachments=None)])
    row = page.tables["tickets"].to_pylist()[0]
    assert (row["id"], row["priority__id"], row["priority__name"]) == (12, 3, None)
    assert page.rejected == 0 and page.tables["tickets__participants"].num_rows == 0


def test_a_discovered_column_keeps_its_type_and_misfits_go_to_a_variant_column():
    registry = TypeRegistry()
    flatten([ticket(id=1, score=5)], registry)
    later = flatten([ticket(id=2, score="five"), ticket(id=3, score=6)], registry)
    rows = later.tables["tickets"].select(["id", "score", "score__v_text"]).to_pylist()
    assert rows == [{"id": 2, "score": None, "score__v_text": "five"}, {"id": 3, "score": 6, "score__v_text": None}]


def test_column_types_of_earlier_runs_come_from_the_dlt_schema():
    registry = TypeRegistry.from_dlt_schema({"tickets": {"columns": {"score": {"data_type": "text"}}}})
    page = flatten([ticket(score=5)], registry)
    assert page.tables["tickets"].column("score").to_pylist() == ["5"]


def test_text_is_kept_byte_for_byte():
    text = "<p>Zoë 👋 你好 שלום</p>\n\"quoted\"\t" + "x" * 5000
    page = flatten([ticket(description=text, name="")])
    assert page.tables["tickets"].column("description").to_pylist() == [text]
    assert page.tables["tickets"].column("name").to_pylist() == [""]


def test_lists_become_child_rows_with_ticket_id_and_position():
    page = flatten([ticket(id=7, status_history=[{"entered_at": "2020-11-18T08:06:56Z", "status": "active"},
                                                  {"entered_at": "2020-11-19T09:00:00+01:00", "status": "closed"}])])
    rows = page.tables["tickets__status_history"].select(["ticket_id", "position", "entered_at", "status"]).to_pylist()
    assert rows == [
        {"ticket_id": 7, "position": 0, "entered_at": datetime(2020, 11, 18, 8, 6, 56, tzinfo=UTC), "status": "active"},
        {"ticket_id": 7, "position": 1, "entered_at": datetime(2020, 11, 19, 8, 0, tzinfo=UTC), "status": "closed"},
    ]


def test_an_emptied_list_sends_a_tombstone_once_earlier_rows_may_exist():
    page = flatten([ticket(id=7, segments=[])], tombstones=True)
    rows = page.tables["tickets__segments"].select(["ticket_id", "position", "_deleted"]).to_pylist()
    assert rows == [{"ticket_id": 7, "position": -1, "_deleted": True}]


def test_untypable_known_fields_reject_the_whole_ticket_with_the_reason():
    page = flatten([ticket(id=1), ticket(id=2, assigned_to={"id": "bob"}),
                    ticket(id=3, status_history=[{"entered_at": "later", "status": "closed"}]), "not a ticket"])
    assert page.tables["tickets"].column("id").to_pylist() == [1]
    reasons = page.tables["tickets_rejected"].select(["ticket_id", "reason"]).to_pylist()
    assert reasons == [
        {"ticket_id": None, "reason": "the ticket is not a JSON object but str"},
        {"ticket_id": "2", "reason": "field `assigned_to__id`: bob is not an integer"},
        {"ticket_id": "3", "reason": "list `status_history`[0]: field `entered_at`: later is not an ISO 8601 timestamp"},
    ]
    assert all(t.num_rows == 0 or 2 not in t.column("ticket_id").to_pylist()
               for name, t in page.tables.items() if name.startswith("tickets__"))
