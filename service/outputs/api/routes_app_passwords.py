"""App passwords: what a feed-reader app signs in to the Google Reader API with.

``POST /v1/profiles/me/app-passwords`` makes one (shown once), ``GET`` lists them (labels and
when each was last used, never the password), ``DELETE …/{id}`` revokes one: the app is signed
out at once. An app password works only for the reader API (``/accounts/ClientLogin``); on
``/v1`` it is refused like any unknown token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from service.outputs.api.deps import CurrentProfile, DatabaseDep, NowDep, SettingsDep
from service.outputs.api.problems import problem_responses
from service.storage.app_passwords import (
    MAX_LABEL_CHARS,
    create_app_password,
    list_app_passwords,
    revoke_app_password,
)
from service.storage.models import MAX_ROW_ID, AppPassword

router = APIRouter(prefix="/v1/profiles/me/app-passwords", tags=["profiles"])


class AppPasswordCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(
        min_length=1,
        max_length=MAX_LABEL_CHARS,
        description="Which app it is for, e.g. `NetNewsWire on my phone`.",
        examples=["NetNewsWire"],
    )


class AppPasswordOut(BaseModel):
    id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, row: AppPassword) -> AppPasswordOut:
        assert row.id is not None
        return cls(
            id=row.id, label=row.label, created_at=row.created_at, last_used_at=row.last_used_at
        )


class AppPasswordCreated(AppPasswordOut):
    password: str = Field(description="Shown only this once; stored hashed (scrypt).")
    login: str = Field(description="What the app takes as its user name: the profile's name.")
    server: str = Field(description="The server address to give the app.")


@router.post(
    "",
    summary="Make an app password for a feed-reader app",
    description="For NetNewsWire, Reeder, Read You, newsboat… (Google Reader API, "
    "`/accounts/ClientLogin`). The password is shown only in this response. At most 10.",
    status_code=status.HTTP_201_CREATED,
    response_model=AppPasswordCreated,
    responses=problem_responses(401, 409, 422),
)
def post_app_password(
    profile: CurrentProfile,
    db: DatabaseDep,
    settings: SettingsDep,
    now: NowDep,
    body: AppPasswordCreate,
) -> AppPasswordCreated:
    assert profile.id is not None
    created = create_app_password(db, profile_id=profile.id, label=body.label, now=now)
    out = AppPasswordOut.of(created.app_password)
    return AppPasswordCreated(
        **out.model_dump(),
        password=created.password,
        login=profile.name,
        server=settings.base_url,
    )


@router.get(
    "",
    summary="Your app passwords",
    description="Their labels and when each was made and last used; never the passwords.",
    response_model=list[AppPasswordOut],
    responses=problem_responses(401),
)
def get_app_passwords(profile: CurrentProfile, db: DatabaseDep) -> list[AppPasswordOut]:
    assert profile.id is not None
    with db.session() as session:
        rows = list_app_passwords(session, profile_id=profile.id)
    return [AppPasswordOut.of(row) for row in rows]


@router.delete(
    "/{app_password_id}",
    summary="Revoke an app password",
    description="The app that used it is signed out at once.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 404, 422),
)
def delete_app_password(
    profile: CurrentProfile,
    db: DatabaseDep,
    app_password_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
) -> Response:
    assert profile.id is not None
    revoke_app_password(db, profile_id=profile.id, app_password_id=app_password_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
