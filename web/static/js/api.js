// The REST API (/api/v1) from the browser: JSON in and out, the session's bearer token, one
// transparent refresh when the access token has expired, and errors as ApiError with the
// API's code and detail, so pages can show a sentence instead of a status number.
import { clearSession, currentSession, saveSession } from "./session.js";

const BASE = "/api/v1";

/** Where Socket.IO chat lives: a chat node the server named in the page (a cluster), or this
 * page's own host (``undefined`` to socket.io). */
export function chatServer() {
  return document.querySelector('meta[name="tributary-chat"]')?.content || undefined;
}

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(typeof detail === "string" ? detail : code);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

/** Why a call failed, as words for people (no final full stop, so it fits in a sentence):
 * validation errors name their fields; a rate limit says how long to wait. */
export function describe(error) {
  if (!(error instanceof ApiError)) return "something went wrong; reload the page to try again";
  if (error.status === 429) {
    const wait = /retry in (\d+)/.exec(error.message)?.[1];
    return wait ? `too many requests; try again in ${wait} seconds` : "too many requests; try again in a minute";
  }
  if (Array.isArray(error.detail)) {
    return error.detail.map((item) => {
      const field = (item.loc || []).filter((part) => part !== "body").join(" › ");
      return field ? `${field}: ${item.msg}` : item.msg;
    }).join("; ");
  }
  return error.message;
}

async function send(method, path, { json, auth, query } = {}) {
  const headers = {};
  if (json !== undefined) headers["Content-Type"] = "application/json";
  if (auth) headers.Authorization = `Bearer ${auth}`;
  const url = new URL(BASE + path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  } catch {
    throw new ApiError(0, "network", "the server cannot be reached; check your connection");
  }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(response.status, body?.error || "http_error", body?.detail || response.statusText);
  }
  return body;
}

let refreshing = null;

async function refreshed() {
  // One refresh at a time: a refresh token is used up by its first use.
  refreshing ??= (async () => {
    const session = currentSession();
    if (!session) return null;
    try {
      const tokens = await send("POST", "/auth/refresh", { json: { refresh_token: session.refresh } });
      return saveSession(tokens).access;
    } catch (error) {
      if (error.status === 401) clearSession();
      return null;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** Call the API as the signed-in user (if any); retried once after a refresh. */
export async function api(method, path, options = {}) {
  const session = currentSession();
  try {
    return await send(method, path, { ...options, auth: session?.access });
  } catch (error) {
    if (error.status !== 401 || !session) throw error;
    const access = await refreshed();
    if (!access) throw error;
    return send(method, path, { ...options, auth: access });
  }
}

/** A fresh access token for things that are not fetch (Socket.IO, tus), or null. */
export async function accessToken({ fresh = false } = {}) {
  if (!currentSession()) return null;
  return fresh ? refreshed() : currentSession().access;
}
