// The home page: what is live now, the signed-in person's subscriptions feed, what is
// trending and the newest videos, each a shelf of cards that pages on with "More".
import { api } from "./api.js";
import { liveCard, pagedList, videoCard } from "./browse.js";
import { currentSession } from "./session.js";

const PAGE = 12;

function shelf(id, path, render, empty) {
  const load = (cursor) => api("GET", path, { query: { limit: PAGE, cursor } });
  return pagedList(document.getElementById(id), { load, render, empty });
}

if (currentSession()) {
  document.getElementById("subscriptions").hidden = false;
  shelf("subscriptions", "/me/feed", videoCard,
    "No new videos from your subscriptions. Subscribe to channels to see their videos here.");
}
shelf("live-now", "/live-now", liveCard, "Nobody is live right now.");
shelf("trending", "/trending", videoCard, "Nothing is trending yet.");
shelf("latest", "/videos", videoCard, "No videos have been published yet.");
