// /studio: the creator's live streams and videos, once we know the visitor has a channel.
import { creator } from "./common.js";
import { showStreams } from "./streams.js";
import { showVideos } from "./videos.js";

const me = await creator(document.getElementById("studio-gate"));
if (me) {
  const studio = document.getElementById("studio");
  studio.hidden = false;
  document.getElementById("channel-link").href = `/c/${me.channel.handle}`;
  document.getElementById("channel-link").textContent = me.channel.title || me.channel.handle;
  await Promise.all([
    showStreams(document.getElementById("streams"), document.getElementById("new-stream")),
    showVideos(document.getElementById("videos"), me.channel.handle),
  ]);
}
