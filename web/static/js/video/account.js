// What the watch page's modules share about the viewer: who is signed in, and the way to the
// sign-in page (and back here) for an action that needs an account.
import { currentSession } from "../session.js";

/** The sign-in page, returning to this page afterwards. */
export function signInHref() {
  return `/signin?next=${encodeURIComponent(location.pathname + location.search)}`;
}

/** True if signed in; otherwise off to sign in (an action a visitor asked for needs it). */
export function signedInOrAway() {
  if (currentSession()) return true;
  location.assign(signInHref());
  return false;
}

/** The signed-in user's username, or null. */
export function viewerName() {
  return currentSession()?.user?.username ?? null;
}

/** True if the signed-in user owns the channel ``handle``. */
export function ownsChannel(handle) {
  return currentSession()?.channel?.handle === handle;
}
