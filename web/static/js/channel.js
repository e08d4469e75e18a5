// A channel's page: its title, description and subscriber count, whether it is live (and
// which of its streams), its videos page by page, and the subscribe button (signed-out
// visitors are sent to sign in first and brought back).
import { api, describe } from "./api.js";
import { liveCard, pagedList, videoCard } from "./browse.js";
import { currentSession } from "./session.js";
import { count, el, notify } from "./ui.js";

const LIVE_PAGES = 10; // /live-now pages read (of 100 streams) to find this channel's streams

const root = document.getElementById("channel");
const handle = root.dataset.handle;
const path = `/channels/${encodeURIComponent(handle)}`;
const session = currentSession();

function showCount(subscribers) {
  document.getElementById("subscriber-count").textContent = count(subscribers, "subscriber");
}

function noSuchChannel() {
  document.title = "No such channel · Tributary";
  root.replaceWith(el("div", { class: "message-page" },
    el("h1", {}, "No such channel"),
    el("p", {}, `There is no channel @${handle}. It may have been deleted, or the address is mistyped.`),
    el("p", {}, el("a", { href: "/" }, "Go to the home page"))));
}

/** The subscribe button, pressed while subscribed; visitors are sent to sign in first. */
async function subscribeButton() {
  const box = document.getElementById("subscribe-box");
  if (session?.channel?.handle === handle) {
    box.append(el("a", { class: "button secondary", href: "/studio" }, "Manage in Studio"));
    return;
  }
  const button = el("button", { type: "button", "aria-pressed": "false" }, "Subscribe");
  const show = (subscribed) => {
    button.setAttribute("aria-pressed", String(subscribed));
    button.textContent = subscribed ? "Subscribed" : "Subscribe";
    button.className = subscribed ? "secondary" : "";
    button.title = subscribed ? "Unsubscribe" : "";
  };
  button.addEventListener("click", async () => {
    if (!session) {
      location.assign(`/signin?next=${encodeURIComponent(location.pathname)}`);
      return;
    }
    const subscribe = button.getAttribute("aria-pressed") !== "true";
    button.disabled = true;
    try {
      const state = await api(subscribe ? "PUT" : "DELETE", `${path}/subscription`);
      show(state.subscribed);
      showCount(state.subscriber_count);
    } catch (error) {
      notify(`Could not ${subscribe ? "subscribe" : "unsubscribe"}: ${describe(error)}.`, { error: true });
    } finally {
      button.disabled = false;
    }
  });
  if (session) {
    try {
      show((await api("GET", `${path}/subscription`)).subscribed);
    } catch (error) {
      notify(`Could not tell whether you subscribe: ${describe(error)}.`, { error: true });
    }
  }
  box.append(button);
}

/** The channel's streams that are live now (from the public /live-now list). */
async function liveStreams() {
  const found = [];
  let cursor = null;
  for (let page = 0; page < LIVE_PAGES; page += 1) {
    const live = await api("GET", "/live-now", { query: { limit: 100, cursor } });
    found.push(...live.items.filter((stream) => stream.channel === handle));
    cursor = live.next_cursor;
    if (!cursor) break;
  }
  if (!found.length) return;
  document.getElementById("live-badge").hidden = false;
  document.getElementById("channel-live").hidden = false;
  document.getElementById("channel-live-list").append(...found.map(liveCard));
}

async function show() {
  let channel;
  try {
    channel = await api("GET", path);
  } catch (error) {
    if (error.status === 404) noSuchChannel();
    else notify(`This channel could not be loaded: ${describe(error)}.`, { error: true });
    return;
  }
  document.title = `${channel.title} · Tributary`;
  document.getElementById("channel-title").textContent = channel.title;
  document.getElementById("channel-description").textContent = channel.description;
  showCount(channel.subscriber_count);
  root.removeAttribute("aria-busy");
  await Promise.all([
    subscribeButton(),
    liveStreams().catch((error) => notify(`Could not tell whether this channel is live: ${describe(error)}.`, { error: true })),
    pagedList(document.getElementById("channel-videos"), {
      load: (cursor) => api("GET", `${path}/videos`, { query: { limit: 24, cursor } }),
      render: videoCard,
      empty: "This channel has no videos yet.",
    }),
  ]);
}

show();
