"""Profiles: created by the admin; read, changed and re-keyed by their owner (``/me``)."""

from __future__ import annotations

from fastapi import APIRouter, status

from service.outputs.api.deps import AdminAuth, CurrentProfile, DatabaseDep, NowDep
from service.outputs.api.problems import problem_responses
from service.outputs.api.schemas_profiles import (
    ProfileCreate,
    ProfileCreated,
    ProfileOut,
    ProfilePatch,
    RotatedToken,
    RotateRequest,
    SeedIn,
)
from service.outputs.seeding import SeedReport, read_seeds, seed_profile
from service.storage.profiles import create_profile, rotate_token, update_profile

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])


@router.post(
    "",
    summary="Create a profile (admin)",
    description="Creates a profile and returns its API token and feed token. They are shown "
    "**only this once** and stored hashed; lost tokens can be rotated by the owner. Needs "
    "`Authorization: Bearer <STAYCURRENT_ADMIN_TOKEN>`. Interests are taxonomy slugs "
    "(`GET /v1/topics`); an unknown slug is refused with its name.",
    status_code=status.HTTP_201_CREATED,
    response_model=ProfileCreated,
    responses=problem_responses(401, 403, 409, 422),
)
def post_profile(_admin: AdminAuth, db: DatabaseDep, body: ProfileCreate) -> ProfileCreated:
    created = create_profile(db, name=body.name, changes=body.changes())
    return ProfileCreated(
        profile=ProfileOut.of(created.profile),
        api_token=created.api_token,
        feed_token=created.feed_token,
    )


@router.get(
    "/me",
    summary="Your profile",
    description="The profile of the API token presented: interests, dial, window, digest.",
    response_model=ProfileOut,
    responses=problem_responses(401),
)
def get_me(profile: CurrentProfile) -> ProfileOut:
    return ProfileOut.of(profile)


@router.patch(
    "/me",
    summary="Change your profile",
    description="Changes only the fields sent. `preset` sets the depth (unless `depth` is sent "
    "too). Unknown fields, unknown topics and unknown source ids are refused by name.",
    response_model=ProfileOut,
    responses=problem_responses(401, 409, 422),
)
def patch_me(profile: CurrentProfile, db: DatabaseDep, body: ProfilePatch) -> ProfileOut:
    assert profile.id is not None
    return ProfileOut.of(update_profile(db, profile_id=profile.id, changes=body.changes()))


@router.post(
    "/me/rotate",
    summary="Replace one of your tokens",
    description="Issues a new API token or feed token; the old one stops working at once. "
    "The new token is shown only in this response.",
    response_model=RotatedToken,
    responses=problem_responses(401, 422),
)
def rotate_me(profile: CurrentProfile, db: DatabaseDep, body: RotateRequest) -> RotatedToken:
    assert profile.id is not None
    token = rotate_token(db, profile_id=profile.id, which=body.token)
    return RotatedToken(token_kind=body.token, token=token)


@router.post(
    "/me/seed",
    summary="Seed your profile from papers or blogs you already read",
    description="Give exactly one of `arxiv` (ids), `bibtex` (a BibTeX file's text) or `opml` "
    "(an OPML file's text). Each paper found here becomes a like (by arXiv id, DOI or title); "
    "each feed that is a source here is unmuted and its newest posts liked. Every seed gets a "
    "line: liked, already, subscribed, unknown (not in this database) or invalid.",
    response_model=SeedReport,
    responses=problem_responses(401, 422),
)
def seed_me(profile: CurrentProfile, db: DatabaseDep, now: NowDep, body: SeedIn) -> SeedReport:
    assert profile.id is not None
    seeds = read_seeds(
        arxiv=body.arxiv,
        bibtex=body.bibtex,
        opml=body.opml.encode() if body.opml is not None else None,
    )
    return seed_profile(db, profile_id=profile.id, seeds=seeds, now=now)
