"""Erasing a person on a data-protection request (admin keys only).

The person's traits, ids, event properties and sales notes go; the anonymous facts stay, so
the funnel's counts (events per name, moves per stage) do not change. The lead's id then
answers 404 everywhere.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from leadgate.api.auth import allowed, runtime_of
from leadgate.api.problems import PROBLEM_RESPONSES
from leadgate.service.erasure import Erasure, erase_person
from leadgate.service.keys import Principal

router = APIRouter(tags=["people"])


@router.delete(
    "/v1/people/{lead_id}",
    response_model=Erasure,
    responses=PROBLEM_RESPONSES,
    summary="Erase a person's personal data; keep the anonymous facts the funnel counts",
)
def delete_person(
    request: Request, lead_id: str, principal: Annotated[Principal, Depends(allowed("admin"))]
) -> Erasure:
    runtime = runtime_of(request)
    playbook = runtime.playbook()
    with runtime.locked() as store:
        return erase_person(store, playbook, lead_id, runtime.now())
