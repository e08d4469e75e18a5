// The watch page's entry (/v/{video}): loads the video, then either shows why it cannot play
// (status.js) or starts the player and everything around it: details, channel, reactions,
// share, view counting, resume, storyboard previews, comments and related videos.
import { api } from "../api.js";
import { ago, count, el } from "../ui.js";
import { mountChannel } from "./channel.js";
import { mountComments } from "./comments.js";
import { startPlayer } from "./player.js";
import { rememberPosition, startPosition } from "./position.js";
import { mountReactions } from "./reactions.js";
import { mountRelated } from "./related.js";
import { mountShare } from "./share.js";
import { showFailed, showPrivate, showUnavailable, waitUntilReady } from "./status.js";
import { mountStoryboard } from "./storyboard.js";
import { countView } from "./views.js";

const videoId = document.getElementById("video-page").dataset.video;

function showDetails(info) {
  document.title = `${info.title} · Tributary`;
  document.getElementById("video-title").textContent = info.title;
  const stats = document.getElementById("video-stats");
  const views = { count: info.view_count };
  const showViews = () => {
    stats.textContent = `${count(views.count, "view")} · ${ago(info.published_at || info.created_at)}`
      + (info.privacy === "public" ? "" : ` · ${info.privacy === "unlisted" ? "Unlisted" : "Private"}`);
  };
  showViews();
  document.getElementById("video-description").textContent = info.description;
  document.getElementById("video-tags").replaceChildren(
    ...info.tags.map((tag) => el("a", { class: "tag", href: `/search?q=${encodeURIComponent(tag)}` }, `#${tag}`)));
  return () => { views.count += 1; showViews(); };
}

async function watch(info) {
  document.getElementById("video-loading").hidden = true;
  document.getElementById("watch").hidden = false;
  const viewCounted = showDetails(info);
  mountChannel(info);
  mountReactions(info);
  mountRelated(info);
  const player = await startPlayer(info, { start: await startPosition(info) });
  rememberPosition(info, player);
  countView(info, player, viewCounted);
  mountShare(info, player);
  mountStoryboard(player);
  await mountComments(info, player);
}

async function main() {
  let info;
  try {
    info = await api("GET", `/videos/${videoId}`);
  } catch (error) {
    if (error.status === 404) showPrivate();
    else showUnavailable(error);
    return;
  }
  if (info.status !== "ready") {
    const final = await waitUntilReady(info.id);
    if (final.status === "failed") return showFailed(final.failure_reason);
    if (final.status !== "ready") return showPrivate(); // deleted while processing
    info = await api("GET", `/videos/${videoId}`);
  }
  try {
    await watch(info);
  } catch (error) {
    showUnavailable(error);
  }
}

main();
