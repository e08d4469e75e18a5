// The video's channel under the player: its name (a link to the channel page), subscriber
// count and a Subscribe / Subscribed toggle (PUT / DELETE the subscription). A creator sees no
// button on their own videos; visitors are sent to sign in.
import { api } from "../api.js";
import { currentSession } from "../session.js";
import { count, notify } from "../ui.js";
import { ownsChannel, signedInOrAway } from "./account.js";

const link = document.getElementById("channel-link");
const subscribers = document.getElementById("subscriber-count");
const button = document.getElementById("subscribe");

function show(state) {
  subscribers.textContent = count(state.subscriber_count, "subscriber");
  button.textContent = state.subscribed ? "Subscribed" : "Subscribe";
  button.className = state.subscribed ? "secondary" : "";
  button.setAttribute("aria-pressed", String(state.subscribed));
}

export async function mountChannel(info) {
  const handle = info.channel;
  link.href = `/c/${encodeURIComponent(handle)}`;
  link.textContent = handle;
  let state = { subscribed: false, subscriber_count: 0 };
  try {
    const channel = await api("GET", `/channels/${handle}`);
    link.textContent = channel.title || handle;
    state.subscriber_count = channel.subscriber_count;
    if (currentSession() && !ownsChannel(handle)) state = await api("GET", `/channels/${handle}/subscription`);
  } catch {
    // The name links to the channel all the same.
  }
  show(state);
  if (ownsChannel(handle)) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    if (!signedInOrAway()) return;
    button.disabled = true;
    try {
      state = await api(state.subscribed ? "DELETE" : "PUT", `/channels/${handle}/subscription`);
      show(state);
    } catch (error) {
      notify(`Could not change your subscription: ${error.message}`, { error: true });
    } finally {
      button.disabled = false;
    }
  });
}
