// What the browsing pages (home, search, channel) share: the card of a video or of a live
// stream, an API failure in words, and a list that grows a page at a time with a "More"
// button, so the three pages look and behave alike.
import { describe } from "./api.js";
import { ago, count, duration, el } from "./ui.js";

const STATUS_WORDS = { uploading: "Uploading", processing: "Processing", failed: "Failed" };
const PRIVACY_WORDS = { unlisted: "Unlisted", private: "Private" };

/** The picture of a card: the API's image when the item has one, else a neutral placeholder. */
function thumbnail(item, overlay) {
  const picture = item.thumbnail_url
    ? el("img", { src: item.thumbnail_url, alt: "", loading: "lazy" })
    : el("div", { class: "thumb placeholder", "aria-hidden": "true" });
  return el("div", { class: "thumb-box" }, picture, overlay);
}

function channelLink(handle, text) {
  return handle ? el("a", { class: "sub channel", href: `/c/${encodeURIComponent(handle)}` }, text || handle) : null;
}

/** A video's card (a card from a list, or a channel's full video): links to /v/{id}. */
export function videoCard(video) {
  const time = video.duration_seconds == null ? null
    : el("span", { class: "duration" }, duration(video.duration_seconds));
  const notes = [PRIVACY_WORDS[video.privacy], STATUS_WORDS[video.status]].filter(Boolean);
  return el("article", { class: "card" },
    el("a", { class: "card-link", href: `/v/${encodeURIComponent(video.id)}` },
      thumbnail(video, time),
      el("span", { class: "title" }, video.title)),
    el("div", { class: "meta" },
      channelLink(video.channel),
      el("p", { class: "sub" }, `${count(video.view_count, "view")} · ${ago(video.published_at || video.created_at)}`),
      notes.length ? el("p", { class: "notes" }, notes.map((note) => el("span", { class: "note" }, note))) : null));
}

/** A live stream's card (from /live-now or a live search result): links to /watch/{name}. */
export function liveCard(stream) {
  return el("article", { class: "card live" },
    el("a", { class: "card-link", href: `/watch/${encodeURIComponent(stream.name)}` },
      thumbnail(stream, el("span", { class: "badge" }, "LIVE")),
      el("span", { class: "title" }, stream.title || stream.name)),
    el("div", { class: "meta" },
      channelLink(stream.channel, stream.channel_title),
      el("p", { class: "sub" }, "Live now")));
}

/**
 * A list in `host` filled page by page: `load(cursor)` resolves to an API page ({items,
 * next_cursor}), `render(item)` makes an item's card, `empty` is the text shown when there is
 * nothing. Resolves once the first page is shown. "More" moves focus to the first new card,
 * so keyboard users carry on where the list grew.
 */
export function pagedList(host, { load, render, empty }) {
  const grid = el("div", { class: "grid" });
  const status = el("p", { class: "list-status", role: "status" });
  const more = el("button", { type: "button", class: "secondary more", hidden: true }, "More");
  host.append(grid, status, more);
  let cursor = null;

  async function next() {
    more.disabled = true;
    host.setAttribute("aria-busy", "true");
    status.className = "list-status muted";
    status.textContent = "Loading…";
    try {
      const page = await load(cursor);
      const cards = page.items.map(render);
      grid.append(...cards);
      cursor = page.next_cursor;
      const nothing = grid.childElementCount === 0;
      status.className = nothing ? "list-status empty" : "list-status";
      status.textContent = nothing ? empty : "";
      return cards;
    } catch (error) {
      status.className = "list-status error";
      status.textContent = `This list could not be loaded: ${describe(error)}.`;
      return [];
    } finally {
      more.hidden = !cursor;
      more.disabled = false;
      host.removeAttribute("aria-busy");
    }
  }

  more.addEventListener("click", async () => {
    const added = await next();
    added[0]?.querySelector("a")?.focus();
  });
  return next();
}
