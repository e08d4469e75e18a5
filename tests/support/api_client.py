"""A thin client for /api/v1 in tests: accounts made through the API, answers as status/body/headers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from catalog.access import Role
from tests.support.nodes import RunningNode


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Account:
    email: str
    username: str
    password: str
    access: str
    refresh: str
    channel: str | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


@dataclass
class Api:
    """A thin client for /api/v1 that always hands back status, JSON body and headers."""

    session: aiohttp.ClientSession
    base: str
    node: RunningNode
    accounts: list[Account] = field(default_factory=list)

    async def call(self, method: str, path: str, *, json: Any = None, data: Any = None,
                   headers: dict[str, str] | None = None, account: Account | None = None,
                   params: dict[str, str] | None = None) -> Answer:
        all_headers = {**(account.auth if account else {}), **(headers or {})}
        async with self.session.request(method, self.base + path, json=json, data=data,
                                        headers=all_headers, params=params) as resp:
            raw = await resp.read()
            body = None
            if raw:
                assert resp.content_type == "application/json", (resp.status, raw[:200])
                body = await resp.json()
            return Answer(resp.status, body, dict(resp.headers))

    async def register(self, *, creator: bool = False, **fields: Any) -> Account:
        tag = uuid.uuid4().hex[:10]
        body = {"email": f"u{tag}@example.org", "username": f"u{tag}", "display_name": f"User {tag}",
                "password": "correct horse battery", "creator": creator, **fields}
        got = await self.call("POST", "/auth/register", json=body)
        assert got.status == 201, got.body
        account = Account(body["email"], body["username"], body["password"],
                          got.body["tokens"]["access_token"], got.body["tokens"]["refresh_token"],
                          got.body["channel"]["handle"] if got.body["channel"] else None)
        self.accounts.append(account)
        return account

    async def login(self, account: Account) -> Answer:
        got = await self.call("POST", "/auth/login",
                              json={"email": account.email, "password": account.password})
        if got.status == 200:
            account.access, account.refresh = got.body["access_token"], got.body["refresh_token"]
        return got

    async def set_role(self, account: Account, role: Role) -> None:
        """Change a role in the database (no endpoint grants roles), then log in again."""
        assert self.node.node.pool is not None
        await self.node.node.pool.execute(
            "UPDATE users SET role = $2 WHERE username = $1", account.username, role.value)
        assert (await self.login(account)).status == 200


@asynccontextmanager
async def api_for(node: RunningNode) -> AsyncIterator[Api]:
    """An API client for ``node`` with its own HTTP session, closed on the way out."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield Api(session, node.api, node)
