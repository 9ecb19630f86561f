"""The request's database session, opened and committed by ``CRMRoute`` (see core/routing.py)."""

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession


# Every dependency is async: FastAPI runs a plain `def` one in a worker thread, a costly hop.
async def get_session(request: Request) -> AsyncSession:
    session: AsyncSession = request.state.session
    return session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
