// The live page (/watch/NAME): the player, the stream's title and channel, and the chat.
// Title and channel come from the public list of streams live now (GET /live-now): the API
// has no public read of one stream, so an offline stream shows its name until it goes live.
import { api } from "../api.js";
import { el } from "../ui.js";
import { startChat } from "./chat.js";
import { startPlayer } from "./player.js";

const stream = document.querySelector(".live-layout").dataset.stream;
const titleEl = document.getElementById("stream-title");
const channelEl = document.getElementById("stream-channel");

/** This stream in /live-now (sorted by name, so the search stops once past it), or null. */
async function findLive() {
  let cursor;
  do {
    const page = await api("GET", "/live-now", { query: { limit: 100, cursor } });
    const found = page.items.find((item) => item.name === stream);
    if (found || page.items.some((item) => item.name > stream)) return found ?? null;
    cursor = page.next_cursor;
  } while (cursor);
  return null;
}

async function showStreamInfo() {
  try {
    const live = await findLive();
    if (!live) return;
    const title = live.title || stream;
    titleEl.textContent = title;
    document.title = `${title} · Tributary`;
    if (!live.channel) return;
    const channel = await api("GET", `/channels/${encodeURIComponent(live.channel)}`);
    channelEl.replaceChildren(el("a", { href: `/c/${channel.handle}` }, channel.title));
    channelEl.hidden = false;
  } catch {
    // The name already heads the page; the title and channel are a nicety.
  }
}

startPlayer({ live: showStreamInfo });
startChat(stream);
