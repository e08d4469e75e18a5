// The studio's list of the channel's videos (its owner sees all of them, whatever their status
// or privacy): status with live processing progress and failure reasons, links to edit and watch.
import { api, describe } from "../api.js";
import { ago, count, duration, el } from "../ui.js";
import { statusView, watchStatus } from "./common.js";

const PAGE = 24;

function videoRow(video) {
  const status = statusView();
  status.update(video);
  // A listed video has no progress nor failure reason: its status has them (and is polled while processing).
  if (video.status === "processing" || video.status === "failed") watchStatus(video.id, status.update);
  const facts = [video.privacy, video.duration_seconds ? duration(video.duration_seconds) : null,
    count(video.view_count, "view"), `uploaded ${ago(video.created_at)}`].filter(Boolean).join(" · ");
  return el("li", { class: "video-row panel", "data-video": video.id },
    el("div", { class: "video-main" },
      el("a", { class: "title", href: `/studio/videos/${video.id}` }, video.title),
      el("span", { class: "muted" }, facts)),
    status.node,
    el("div", { class: "video-actions" },
      el("a", { class: "button secondary", href: `/studio/videos/${video.id}`,
        "aria-label": `Edit ${video.title}` }, "Edit"),
      // Nothing to watch until an upload has arrived, nor after processing failed.
      video.status === "ready" || video.status === "processing"
        ? el("a", { class: "button secondary", href: `/v/${video.id}`, "aria-label": `Watch ${video.title}` },
          "Watch")
        : null));
}

/** Fill `container` with the channel's videos, newest upload first, a page at a time. */
export async function showVideos(container, handle) {
  const list = el("ul", { class: "video-rows" });
  const more = el("button", { type: "button", class: "secondary", hidden: true }, "Show more");
  let cursor = null;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await api("GET", `/channels/${handle}/videos`, { query: { limit: PAGE, cursor } });
      list.append(...page.items.map(videoRow));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      if (!list.children.length) {
        container.replaceChildren(el("p", { class: "empty" }, "No videos yet. ",
          el("a", { href: "/studio/upload" }, "Upload your first video"),
          ", or go live: recorded streams become videos too."));
      }
    } catch (error) {
      container.append(el("p", { class: "error" }, `Could not load your videos: ${describe(error)}`));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", load);
  container.replaceChildren(list, more);
  await load();
}
