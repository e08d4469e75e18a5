// "Up next": videos related to this one (GET /videos/{id}/related), as compact cards: the
// video's picture (a plain tile until processing made one) with its duration over it.
import { api } from "../api.js";
import { ago, count, duration, el } from "../ui.js";

const LIMIT = 12;

function card(video) {
  return el("li", {},
    el("a", { class: "related-card", href: `/v/${video.id}` },
      el("span", { class: "related-thumb", "aria-hidden": "true" },
        video.thumbnail_url ? el("img", { src: video.thumbnail_url, alt: "", loading: "lazy" }) : null,
        el("span", { class: "related-duration" }, duration(video.duration_seconds))),
      el("span", { class: "related-meta" },
        el("span", { class: "related-title" }, video.title),
        el("span", { class: "muted" }, video.channel),
        el("span", { class: "muted" },
          `${count(video.view_count, "view")} · ${ago(video.published_at || video.created_at)}`))));
}

export async function mountRelated(info) {
  const list = document.getElementById("related");
  const empty = document.getElementById("related-empty");
  try {
    const { items } = await api("GET", `/videos/${info.id}/related`, { query: { limit: LIMIT } });
    list.replaceChildren(...items.map(card));
    empty.hidden = items.length > 0;
  } catch {
    empty.textContent = "Related videos could not be loaded.";
    empty.hidden = false;
  }
}
