// The top bar's account menu: "Sign in" for visitors; the user's name, the studio and
// sign-out for a session.
import { api } from "./api.js";
import { clearSession, currentSession } from "./session.js";
import { el } from "./ui.js";

const nav = document.getElementById("account-nav");
const session = currentSession();
if (session?.user) {
  const signOut = async () => {
    try {
      await api("POST", "/auth/logout", { json: { refresh_token: session.refresh } });
    } catch {
      // The session ends here either way; a refresh token left valid lapses by itself.
    }
    clearSession();
    location.assign("/");
  };
  const creator = session.channel
    ? [el("a", { href: "/studio" }, "Studio"), el("a", { href: `/c/${session.channel.handle}` }, "My channel")]
    : [];
  nav.replaceChildren(
    ...creator,
    el("span", { class: "who" }, session.user.display_name),
    el("button", { type: "button", class: "link", onclick: signOut }, "Sign out"),
  );
} else {
  const next = encodeURIComponent(location.pathname + location.search);
  nav.replaceChildren(el("a", { href: `/signin?next=${next}` }, "Sign in"));
}
