import uuid
from datetime import datetime

from crm_api.core.schemas import ReadSchema


class WorkspaceRead(ReadSchema):
    id: uuid.UUID
    name: str
    created_at: datetime
