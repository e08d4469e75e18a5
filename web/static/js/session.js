// The signed-in session, kept in localStorage: the API's access and refresh tokens and who
// they belong to. Every page reads it; only sign-in, sign-up, refresh and sign-out write it.
const KEY = "tributary.session";

export function currentSession() {
  try {
    const session = JSON.parse(localStorage.getItem(KEY) || "null");
    return session && session.access && session.refresh ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(tokens, me) {
  const previous = currentSession();
  const session = {
    access: tokens.access_token,
    refresh: tokens.refresh_token,
    user: me ? me.user : previous?.user,
    channel: me ? me.channel : previous?.channel,
  };
  localStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

export function clearSession() {
  localStorage.removeItem(KEY);
}
