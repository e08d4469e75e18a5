"""Register, log in, refresh (rotation and replay), log out, expiry, rehash, indistinguishable failures."""

from __future__ import annotations

import statistics
import time

import jwt
from argon2 import PasswordHasher

from catalog.access import Principal, Role
from catalog.access_tokens import AccessTokens


class CountingHasher:
    """Wraps argon2's hasher to record which hashes were verified."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self._hasher = hasher
        self.verified: list[str] = []

    def verify(self, stored: str, password: str) -> bool:
        self.verified.append(stored)
        return self._hasher.verify(stored, password)

    def __getattr__(self, name: str):
        return getattr(self._hasher, name)


async def test_register_viewer_and_creator(api):
    viewer = await api.register()
    me = await api.call("GET", "/me", account=viewer)
    assert me.status == 200
    assert me.body["user"]["role"] == "viewer" and me.body["channel"] is None
    assert "password" not in str(me.body)

    creator = await api.register(creator=True, display_name="Café ☕ مرحبا")
    me = await api.call("GET", "/me", account=creator)
    assert me.body["user"]["role"] == "creator"
    assert me.body["channel"]["handle"] == creator.username
    assert me.body["channel"]["title"] == "Café ☕ مرحبا"


async def test_login_refresh_logout(api):
    account = await api.register()
    got = await api.login(account)
    assert got.status == 200
    assert got.body["token_type"] == "Bearer" and got.body["expires_in"] == 900
    claims = jwt.decode(account.access, options={"verify_signature": False})
    assert set(claims) == {"sub", "role", "iat", "exp", "jti"} and claims["role"] == "viewer"
    assert claims["exp"] - claims["iat"] == 900

    refreshed = await api.call("POST", "/auth/refresh", json={"refresh_token": account.refresh})
    assert refreshed.status == 200
    assert refreshed.body["refresh_token"] != account.refresh
    new_refresh = refreshed.body["refresh_token"]
    assert (await api.call("GET", "/me", headers={
        "Authorization": f"Bearer {refreshed.body['access_token']}"})).status == 200

    assert (await api.call("POST", "/auth/logout", json={"refresh_token": new_refresh})).status == 204
    gone = await api.call("POST", "/auth/refresh", json={"refresh_token": new_refresh})
    assert gone.status == 401 and gone.body["error"] == "invalid_refresh_token"
    # Logging out twice, or with a token never issued, is not an error.
    assert (await api.call("POST", "/auth/logout", json={"refresh_token": new_refresh})).status == 204
    assert (await api.call("POST", "/auth/logout", json={"refresh_token": "rt_nope"})).status == 204


async def test_replaying_a_rotated_refresh_token_revokes_the_session(api):
    account = await api.register()
    first = account.refresh
    second = (await api.call("POST", "/auth/refresh", json={"refresh_token": first})).body["refresh_token"]
    replay = await api.call("POST", "/auth/refresh", json={"refresh_token": first})
    assert replay.status == 401 and "already used" in replay.body["detail"]
    # The thief's replay ended the owner's session too: the newest token is dead as well.
    assert (await api.call("POST", "/auth/refresh", json={"refresh_token": second})).status == 401
    # Another session of the same account (a second log-in) is untouched.
    assert (await api.login(account)).status == 200
    assert (await api.call("POST", "/auth/refresh", json={"refresh_token": account.refresh})).status == 200


async def test_expired_tokens(api):
    account = await api.register()
    pool = api.node.node.pool
    await pool.execute("UPDATE refresh_tokens SET expires_at = now() - interval '1 second' "
                       "WHERE user_id = (SELECT id FROM users WHERE username = $1)", account.username)
    got = await api.call("POST", "/auth/refresh", json={"refresh_token": account.refresh})
    assert got.status == 401 and "expired" in got.body["detail"]

    ctx = api.node.node.api
    user_id = int(jwt.decode(account.access, options={"verify_signature": False})["sub"])
    stale = ctx.access_tokens.issue(Principal(user_id, Role.VIEWER), now=time.time() - 901)
    got = await api.call("GET", "/me", headers={"Authorization": f"Bearer {stale.token}"})
    assert got.status == 401 and got.body["error"] == "token_expired"
    assert got.headers["WWW-Authenticate"].startswith("Bearer")


async def test_forged_and_malformed_access_tokens(api):
    account = await api.register()
    user_id = int(jwt.decode(account.access, options={"verify_signature": False})["sub"])
    other_key = AccessTokens(b"k" * 32, 900).issue(Principal(user_id, Role.ADMIN)).token
    none_alg = jwt.encode({"sub": str(user_id), "role": "admin", "iat": 0, "exp": 2**40, "jti": "x"},
                          key=None, algorithm="none")
    for header in (f"Bearer {other_key}", f"Bearer {none_alg}", "Bearer ", "Bearer x.y.z",
                   "Basic dXNlcjpwYXNz", account.access, f"Bearer {account.access}x"):
        got = await api.call("GET", "/me", headers={"Authorization": header})
        assert got.status == 401, header
        assert got.body["error"] in ("invalid_token", "authentication_required")
    assert (await api.call("GET", "/me")).body["error"] == "authentication_required"


async def test_disabled_account_cannot_log_in_or_refresh(api):
    account = await api.register()
    await api.node.node.pool.execute(
        "UPDATE users SET disabled_at = now() WHERE username = $1", account.username)
    got = await api.login(account)
    assert got.status == 403 and got.body["error"] == "account_disabled"
    assert (await api.call("POST", "/auth/refresh", json={"refresh_token": account.refresh})).status == 401


async def test_failed_logins_are_indistinguishable(api, monkeypatch):
    account = await api.register()
    passwords = api.node.node.api.passwords
    counting = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", counting)

    async def attempt(email: str) -> tuple[int, object, float]:
        started = time.perf_counter()
        got = await api.call("POST", "/auth/login", json={"email": email, "password": "wrong password"})
        return got.status, got.body, time.perf_counter() - started

    unknown = [await attempt(f"nobody{i}@example.org") for i in range(7)]
    wrong = [await attempt(account.email) for _ in range(7)]
    assert {(s, str(b)) for s, b, _ in unknown} == {(s, str(b)) for s, b, _ in wrong} == {
        (401, str({"error": "invalid_credentials",
                   "detail": "the e-mail address or the password is wrong"}))}
    # Every attempt, known account or not, ran a full argon2 verification.
    assert len(counting.verified) == 14
    assert all(h.startswith("$argon2id$") for h in counting.verified)
    unknown_time = statistics.median(t for *_, t in unknown)
    wrong_time = statistics.median(t for *_, t in wrong)
    assert 0.33 < unknown_time / wrong_time < 3, (unknown_time, wrong_time)


async def test_changed_hash_parameters_rehash_at_login(api):
    account = await api.register()
    pool = api.node.node.pool
    old = PasswordHasher(time_cost=3, memory_cost=2048, parallelism=1).hash(account.password)
    await pool.execute("UPDATE users SET password_hash = $2 WHERE username = $1", account.username, old)
    assert (await api.login(account)).status == 200
    stored = await pool.fetchval("SELECT password_hash FROM users WHERE username = $1", account.username)
    assert stored != old and "m=1024,t=1,p=1" in stored
    assert (await api.login(account)).status == 200


async def test_duplicate_accounts_are_refused(api):
    account = await api.register()
    for clash in ({"email": account.email.upper()}, {"username": account.username.upper()}):
        body = {"email": "fresh@example.org", "username": "fresh_user_x", "display_name": "X",
                "password": "long enough pw", **clash}
        got = await api.call("POST", "/auth/register", json=body)
        assert got.status == 409 and got.body["error"] == "account_exists"
