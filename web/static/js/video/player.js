// The video itself: hls.js on the playback URL the API gives, with a playback token when the
// video is unlisted or private (the origin passes it on to every URL its playlists list, so the
// tokened master URL is all the player needs), a quality menu (Auto or one rendition), and a
// plain sentence when the media cannot be played.
import { api } from "../api.js";
import { mountControls } from "./controls.js";

const box = document.getElementById("player-box");
const video = document.getElementById("player");
const status = document.getElementById("player-status");
const quality = document.getElementById("quality");

function say(message) {
  status.textContent = message;
  status.hidden = !message;
}

function withToken(address, token) {
  if (!token) return address;
  const url = new URL(address, location.href);
  url.searchParams.set("token", token);
  return url.href;
}

/** The playback URL with ``?token=`` for videos that need one (not public). */
export async function playbackSource(info) {
  if (info.privacy === "public") return { url: info.playback_url, token: null };
  const grant = await api("POST", `/videos/${info.id}/playback-token`);
  return { url: withToken(info.playback_url, grant.token), token: grant.token };
}

function levelLabel(level) {
  return level.height ? `${level.height}p` : `${Math.round(level.bitrate / 1000)} kb/s`;
}

// Values are hls.js level indexes; the menu lists the best picture first.
function fillQualityMenu(hls) {
  const auto = new Option("Auto", "-1");
  const levels = hls.levels.map((level, index) => ({ level, index }));
  levels.sort((a, b) => (b.level.height - a.level.height) || (b.level.bitrate - a.level.bitrate));
  quality.replaceChildren(auto, ...levels.map(({ level, index }) => new Option(levelLabel(level), String(index))));
  quality.value = "-1";
  quality.closest("label").hidden = hls.levels.length < 2;
  hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
    auto.textContent = hls.autoLevelEnabled ? `Auto (${levelLabel(hls.levels[data.level])})` : "Auto";
  });
  // currentLevel switches at once (dropping what is buffered); -1 hands the choice back to ABR.
  quality.addEventListener("change", () => { hls.currentLevel = Number(quality.value); });
}

/**
 * Start playing ``info`` (a VideoOut) from ``start`` seconds; returns the player:
 * {video, seekTo(seconds), source: {url, token}, hls}. A token that lapses mid-viewing is
 * renewed once.
 */
export async function startPlayer(info, { start = 0 } = {}) {
  let source = await playbackSource(info);
  if (info.thumbnail_url) video.poster = withToken(info.thumbnail_url, source.token);
  const controls = mountControls(video, box);
  const player = { video, seekTo: controls.seekTo, source, hls: null };
  window.tributary = player; // for people (and tests) poking at the player from the console

  if (!window.Hls || !Hls.isSupported()) {
    // Safari and iOS play HLS natively (no quality menu there: the browser chooses).
    video.src = source.url;
    video.addEventListener("loadedmetadata", () => { if (start) video.currentTime = start; }, { once: true });
  } else {
    const hls = new Hls({ startPosition: start > 0 ? start : -1 });
    player.hls = hls;
    let renewed = false;
    hls.on(Hls.Events.MANIFEST_PARSED, () => fillQualityMenu(hls));
    hls.on(Hls.Events.ERROR, async (_event, data) => {
      if (!data.fatal) return;
      const refused = [403, 404].includes(data.response?.code);
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR && refused && source.token && !renewed) {
        // A playback token expires (hours): fetch a new one once and carry on where we were.
        renewed = true;
        const at = video.currentTime;
        try {
          source = await playbackSource(info);
          player.source = source;
          hls.loadSource(source.url);
          hls.startLoad(at);
          return;
        } catch {
          // fall through to the message below
        }
      }
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
        hls.recoverMediaError();
        return;
      }
      say(data.type === Hls.ErrorTypes.NETWORK_ERROR
        ? "The video cannot be loaded right now. Check your connection and reload the page."
        : "This video cannot be played in this browser.");
    });
    hls.loadSource(source.url);
    hls.attachMedia(video);
  }
  video.addEventListener("playing", () => say(""));
  video.play().catch(() => say("Press play to start."));
  return player;
}
