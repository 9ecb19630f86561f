"""The KPI triggers plan their joins on each call, lock per workspace, and keep the funnel's
chain when a stage change arrives out of time order.

Found by trying to break them (migrations 0026-0030):

- A statement trigger's query without parameters is planned once per connection, for the
  first call's transition tables: a one-row write, then a nested loop. Joining a later bulk
  update's OLD and NEW tables that way cost N x N rows: 12k contacts rescored took 14.6 s
  instead of 1.1 s after a one-contact PATCH on the same connection. The joins of the two
  transition tables now run through EXECUTE, planned each time, and give arrays of the touched
  keys that the other statements read.
- The buyers' advisory lock keys left the workspace out, so two workspaces' writes could take
  each other's locks (and deadlock); a contact's owner or lead source change took one even
  for a contact who never bought. Keys are now per workspace and bucket, taken only for
  buyers that have buyer days.
- `deal_stage_changes.previous_entry_at` was set on the inserted row only: a change recorded
  after a later one (clocks of two API hosts apart) left the later row pointing past it, and
  the funnel counted that deal twice. The row after an inserted one is now re-pointed too.

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-27 20:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

from crm_api.core.migrations import earlier_revision

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_deal_chain = earlier_revision(__file__, "2026-11-27-1810_stage_entry_chain.py")
_buyers = earlier_revision(__file__, "2026-11-27-1830_buyer_days.py")
_lifecycle = earlier_revision(__file__, "2026-11-27-1900_lifecycle_entry_chain.py")
_attributes = earlier_revision(__file__, "2026-11-27-1930_buyer_day_attributes.py")
_by_key = earlier_revision(__file__, "2026-11-27-2000_lifecycle_chain_by_key.py")

# The touched (workspace_id, contact_id) pairs, as arrays read by `unnest(...) AS touched`.
TOUCHED = "unnest(touched_workspaces, touched_contacts) AS touched(workspace_id, contact_id)"
COLLECT = """
  EXECUTE 'SELECT array_agg(workspace_id), array_agg(contact_id) FROM ({query}) AS t'
  INTO touched_workspaces, touched_contacts;
  IF touched_contacts IS NULL THEN
    RETURN NULL;
  END IF;
"""
DECLARE = """
DECLARE
  touched_workspaces uuid[];
  touched_contacts uuid[];
"""
# Writers of one buyer take turns; at most 1,024 locks a workspace, taken in order.
LOCK = f"""
  PERFORM pg_advisory_xact_lock(key) FROM (
    SELECT DISTINCT hashtextextended(
      'buyer-days:' || workspace_id || ':' || (hashtext(contact_id::text) & 1023), 0) AS key
    FROM {TOUCHED} ORDER BY 1) AS keys;
"""


def _literal(query: str) -> str:
    return query.replace("'", "''")


def _buyer_function(operation: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION buyer_days_{operation.lower()}() RETURNS trigger
LANGUAGE plpgsql AS $$
{DECLARE}
BEGIN
  {COLLECT.format(query=_literal(_buyers.CHANGED[operation]))}
  {LOCK}
  {_buyers.DELETE.format(buyers=f"SELECT * FROM {TOUCHED}")};
  {_attributes.INSERT.format(buyers=f"SELECT * FROM {TOUCHED}")};
  RETURN NULL;
END
$$
"""


# Contacts whose owner or lead source a statement changed, that have buyer days.
MOVED = (
    "SELECT n.workspace_id, n.id AS contact_id FROM old_rows o JOIN new_rows n"
    " USING (workspace_id, id)"
    " WHERE (o.owner_id, o.lead_source) IS DISTINCT FROM (n.owner_id, n.lead_source)"
    " AND EXISTS (SELECT 1 FROM buyer_days b"
    " WHERE b.workspace_id = n.workspace_id AND b.contact_id = n.id)"
)
FOLLOW = f"""
CREATE OR REPLACE FUNCTION buyer_days_follow_contacts() RETURNS trigger
LANGUAGE plpgsql AS $$
{DECLARE}
BEGIN
  {COLLECT.format(query=_literal(MOVED))}
  {LOCK}
  UPDATE buyer_days b SET owner_id = p.owner_id, lead_source = p.lead_source
  FROM {TOUCHED}
  JOIN contacts p ON p.workspace_id = touched.workspace_id AND p.id = touched.contact_id
  WHERE b.workspace_id = touched.workspace_id AND b.contact_id = touched.contact_id;
  RETURN NULL;
END
$$
"""


def _lifecycle_function(operation: str) -> str:
    changed = _by_key.CHANGED.format(contacts=f"SELECT * FROM {TOUCHED}")
    return f"""
CREATE OR REPLACE FUNCTION contact_lifecycle_chain_{operation.lower()}() RETURNS trigger
LANGUAGE plpgsql AS $$
{DECLARE}{_by_key.CHANGED_ARRAYS}
BEGIN
  {COLLECT.format(query=_literal(_lifecycle.TOUCHED[operation]))}
  {_by_key.APPLY.format(changed=changed)}
  RETURN NULL;
END
$$
"""


# The inserted change becomes the previous entry of the deal's next entry into the stage.
DEAL_CHAIN = """
CREATE OR REPLACE FUNCTION deal_stage_changes_previous_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  SELECT p.changed_at INTO NEW.previous_entry_at FROM deal_stage_changes p
  WHERE p.workspace_id = NEW.workspace_id AND p.deal_id = NEW.deal_id
    AND p.to_stage_id = NEW.to_stage_id AND (p.changed_at, p.id) < (NEW.changed_at, NEW.id)
  ORDER BY p.changed_at DESC, p.id DESC LIMIT 1;
  UPDATE deal_stage_changes AS s SET previous_entry_at = NEW.changed_at
  WHERE (s.workspace_id, s.id) = (
    SELECT n.workspace_id, n.id FROM deal_stage_changes n
    WHERE n.workspace_id = NEW.workspace_id AND n.deal_id = NEW.deal_id
      AND n.to_stage_id = NEW.to_stage_id AND (n.changed_at, n.id) > (NEW.changed_at, NEW.id)
    ORDER BY n.changed_at, n.id LIMIT 1);
  RETURN NEW;
END
$$
"""


def upgrade() -> None:
    for operation in ("INSERT", "UPDATE", "DELETE"):
        op.execute(_buyer_function(operation))
        op.execute(_lifecycle_function(operation))
    op.execute(FOLLOW)
    op.execute(DEAL_CHAIN)


def downgrade() -> None:
    op.execute(_deal_chain.FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    op.execute(_attributes.FOLLOW.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    for operation in ("INSERT", "UPDATE", "DELETE"):
        op.execute(_attributes._rebuild(operation, _attributes.INSERT))
        op.execute(_by_key._function(operation))
