"""Duplicate candidates, found in SQL.

Contacts: one's email among the other's emails (ignoring case), a shared phone in E.164, or
names at least 0.6 similar (pg_trgm) at the same company. Companies: names similar enough for
pg_trgm's `%` (its trigram index serves the lookup), or domains under the same registrable
domain (shop.acme.com and acme.com). Each pair once, lower id first, with every reason found
and the best name similarity; keyset pages by (first_id, second_id).
"""

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

NAME_SIMILARITY = 0.6

_CONTACT_PAIRS = """
WITH live AS (
  SELECT * FROM contacts WHERE workspace_id = :ws AND archived_at IS NULL
), pairs AS (
  SELECT a.id AS x, b.id AS y, 'email' AS reason, NULL::real AS score
  FROM live b
  JOIN live a ON lower(a.email) = ANY (SELECT lower(e) FROM unnest(b.additional_emails) e)
  WHERE b.additional_emails <> '{}' AND a.id <> b.id
  UNION ALL
  SELECT a.id, b.id, 'email', NULL
  FROM live a JOIN live b ON a.id < b.id AND a.additional_emails && b.additional_emails
  WHERE a.additional_emails <> '{}' AND b.additional_emails <> '{}'
  UNION ALL
  SELECT a.id, b.id, 'phone', NULL
  FROM live a JOIN live b ON b.phones_e164 && a.phones_e164 AND a.id < b.id
  WHERE a.phones_e164 <> '{}'
  UNION ALL
  SELECT a.id, b.id, 'similar_name_same_company',
         similarity(a.first_name || ' ' || a.last_name, b.first_name || ' ' || b.last_name)
  FROM live a JOIN live b ON b.company_id = a.company_id AND a.id < b.id
  WHERE a.company_id IS NOT NULL
    AND similarity(a.first_name || ' ' || a.last_name, b.first_name || ' ' || b.last_name)
        >= :similarity
)
"""

_COMPANY_PAIRS = """
WITH live AS (
  SELECT *, substring(domain FROM '([^.]+\\.[^.]+)$') AS root
  FROM companies WHERE workspace_id = :ws AND archived_at IS NULL
), pairs AS (
  SELECT a.id AS x, b.id AS y, 'similar_name' AS reason, similarity(a.name, b.name) AS score
  FROM live a JOIN companies b
    ON b.workspace_id = a.workspace_id AND b.search_text % a.search_text AND a.id < b.id
  WHERE b.archived_at IS NULL AND similarity(a.name, b.name) >= :similarity
  UNION ALL
  SELECT a.id, b.id, 'same_domain', NULL
  FROM live a JOIN live b ON b.root = a.root AND a.id < b.id
  WHERE a.root IS NOT NULL
)
"""

_PAGE = """
SELECT least(x, y) AS first_id, greatest(x, y) AS second_id,
       array_agg(DISTINCT reason ORDER BY reason) AS reasons, max(score) AS name_similarity
FROM pairs
GROUP BY 1, 2
HAVING (least(x, y), greatest(x, y)) > (CAST(:after_first AS uuid), CAST(:after_second AS uuid))
ORDER BY 1, 2
LIMIT :limit
"""

_NOTHING = uuid.UUID(int=0)


async def candidates(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    kind: str,
    after: tuple[uuid.UUID, uuid.UUID] | None,
    limit: int,
) -> list[Any]:
    pairs = _CONTACT_PAIRS if kind == "contacts" else _COMPANY_PAIRS
    first, second = after or (_NOTHING, _NOTHING)
    rows = await session.execute(
        text(pairs + _PAGE),
        {
            "ws": workspace_id,
            "similarity": NAME_SIMILARITY,
            "after_first": first,
            "after_second": second,
            "limit": limit,
        },
    )
    return list(rows.all())
