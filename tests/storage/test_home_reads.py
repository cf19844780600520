"""What a real database is asked for the reads that recur through an expiry burst (bench/revocation.py): how many
transactions an App Home costs (a Home is rendered after each change concerning its person), how many rows an expiry
reminders round reads."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, event

from access.homes import HomeQueries
from access.model import GrantStatus, RequestStatus
from storage.store import SqlStore
from tests.fakes.directory import FakeDirectory
from tests.storage import builders as b


def transactions_of(engine: Engine) -> list[object]:
    begun: list[object] = []
    event.listen(engine, "begin", begun.append)
    return begun


def test_a_home_reads_in_one_transaction_and_an_owners_in_three(store: SqlStore, engine: Engine) -> None:
    # given an integration whose owners include U0OWNER, and three people's live grants on its project
    with store.unit_of_work() as uow:
        uow.integrations.upsert(b.integration())
        for number in range(3):
            requester = f"U0HOLDER{number}"
            request = uow.requests.add(b.request(requester_id=requester, status=RequestStatus.APPROVED,
                                                 decided_by="U0OWNER", decided_at=b.T0))
            uow.grants.add(b.grant(request_id=request.id or 0, requester_id=requester, status=GrantStatus.ACTIVE,
                                   expires_at=b.T0 + timedelta(hours=1)))
    homes = HomeQueries(store=store, clock=b.Clock(), directory=FakeDirectory())
    store.integration("prod")  # the spec cache warm, as in a running process
    begun = transactions_of(engine)
    # when the Home of a holder, who owns nothing, is built
    holder = homes.home(user_id="U0HOLDER1")
    # then it read everything in one transaction
    assert [g.requester_id for g in holder.grants] == ["U0HOLDER1"] and holder.live == ()
    assert len(begun) == 1
    # and the Home of an owner, with the others' grants and who approved them, in three: the Home, the page of live
    # grants scanned, and their requests in one read
    begun.clear()
    owner = homes.home(user_id="U0OWNER")
    assert [(item.grant.requester_id, item.approved_by) for item in owner.live] == [
        (f"U0HOLDER{number}", ("U0OWNER",)) for number in range(3)]
    assert len(begun) == 3


def test_the_expiry_reminders_read_only_the_batch_they_send(store: SqlStore, engine: Engine) -> None:
    # given thirty live grants ending within the reminder's lead
    with store.unit_of_work() as uow:
        uow.integrations.upsert(b.integration())
        for number in range(30):
            request = uow.requests.add(b.request(requester_id=f"U0HOLDER{number}", status=RequestStatus.APPROVED))
            uow.grants.add(b.grant(request_id=request.id or 0, requester_id=f"U0HOLDER{number}",
                                   status=GrantStatus.ACTIVE, expires_at=b.T0 + timedelta(minutes=number)))
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: statements.append(statement))
    # when a round asks for a batch of five
    with store.unit_of_work() as uow:
        batch = uow.grants.expiring(before=b.T0 + timedelta(hours=1), limit=5)
    # then it gets the five soonest, and the database was asked for five rows, not for all thirty (a burst of
    # expiries held two thousand live grants within the lead, read whole by each round)
    assert [g.requester_id for g in batch] == [f"U0HOLDER{number}" for number in range(5)]
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1 and "LIMIT" in reads[0].upper()
