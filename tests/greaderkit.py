"""A reader app's side of the Google Reader API, for tests: sign in, then call with the header."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from apikit import Api, bearer


@dataclass
class ReaderApp:
    """An app signed in to the API under test (the TestClient of ``api``)."""

    api: Api
    auth: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"GoogleLogin auth={self.auth}"}

    def get(self, path: str, **params: Any) -> Any:
        return self.api.client.get(path, params=params, headers=self.headers)

    def post(self, path: str, data: Any) -> Any:
        """A form POST (``data``: a dict, or (name, value) pairs for repeated names)."""
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        body = urlencode(list(data.items()) if isinstance(data, dict) else data)
        return self.api.client.post(path, content=body, headers=self.headers | form)

    def json(self, path: str, **params: Any) -> Any:
        response = self.get(path, output="json", **params)
        assert response.status_code == 200, response.text
        return response.json()

    def edit_token(self) -> str:
        response = self.get("/reader/api/0/token")
        assert response.status_code == 200, response.text
        return str(response.text)


def app_password(api: Api, api_token: str, label: str = "NetNewsWire") -> dict[str, Any]:
    response = api.client.post(
        "/v1/profiles/me/app-passwords", json={"label": label}, headers=bearer(api_token)
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def client_login(api: Api, login: str, password: str) -> Any:
    return api.client.post(
        "/accounts/ClientLogin",
        data={"Email": login, "Passwd": password, "service": "reader", "accountType": "GOOGLE"},
    )


def sign_in(api: Api, name: str, **profile: Any) -> tuple[ReaderApp, int, str]:
    """A profile named ``name``, an app password, ClientLogin: (app, profile id, API token)."""
    created, token, _feed = api.profile(name, **profile)
    password = app_password(api, token)["password"]
    response = client_login(api, name, password)
    assert response.status_code == 200, response.text
    lines = dict(line.split("=", 1) for line in response.text.split())
    return ReaderApp(api, lines["Auth"]), int(created["id"]), token
