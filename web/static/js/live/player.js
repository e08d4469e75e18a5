// The live player: hls.js in low-latency mode on the page's <video>, and what the page shows
// around it — the LIVE badge, the latency readout, "Go live" when the viewer is behind the
// live edge, the quality menu (Auto or one rendition) — plus an offline state that checks the
// playlist every few seconds and starts playing when the stream comes up.
// Latency = now − EXT-X-PROGRAM-DATE-TIME of the playing position; the server anchors PDT at
// the ingest wall clock, so this is what a viewer actually experiences.
// In a cluster the page names several edges (data-src, then data-fallbacks): when the one
// playing fails (not a 404: the stream is gone everywhere), the next takes over, so a viewer
// of an edge that dies carries on from another.
// window.tributary is the player's state, read by tests and benchmarks.

const BEHIND_SECONDS = 3; // this far behind hls.js's live sync position: offer "Go live"
const OFFLINE_POLL_MS = 3000;
const RETRY_MS = 3000;
const FAILOVER_MS = 250;
const MAX_SAMPLES = 1000;

export const state = { latencySamples: [], fatalErrors: [], levelSwitches: [], sources: [], hls: null };
window.tributary = state;

const video = document.getElementById("player");
const offline = document.getElementById("offline");
const statusEl = document.getElementById("status");
const latencyEl = document.getElementById("latency");
const badge = document.getElementById("live-badge");
const goLive = document.getElementById("go-live");
const quality = document.getElementById("quality");

let hls = null;
let started = false; // the current stream has played at least once
let polling = false;
let onLive = () => {};

function latencySeconds() {
  const playing = hls?.playingDate;
  return playing ? (Date.now() - playing.getTime()) / 1000 : null;
}

function levelLabel(level) {
  return level.height ? `${level.height}p` : `${Math.round(level.bitrate / 1000)} kb/s`;
}

// Options are ordered as hls.js orders its levels (by bitrate); values are level indexes.
function fillQualityMenu() {
  quality.replaceChildren(new Option("Auto", "-1"));
  hls.levels.forEach((level, index) => quality.add(new Option(levelLabel(level), String(index))));
  quality.value = "-1";
  quality.parentElement.hidden = hls.levels.length < 2;
}

function stopHls() {
  hls?.destroy();
  hls = null;
  state.hls = null;
}

function showOffline() {
  stopHls();
  started = false;
  offline.hidden = false;
  video.controls = false; // nothing to control, and they would show through the notice
  badge.hidden = true;
  goLive.hidden = true;
  quality.parentElement.hidden = true;
  latencyEl.textContent = "";
  statusEl.textContent = "Offline";
  if (!polling) {
    polling = true;
    setTimeout(pollUntilLive, OFFLINE_POLL_MS);
  }
}

/** Whether the stream is being published: its master playlist exists and its first media
 * playlist has not ended (an ended stream lingers a little with EXT-X-ENDLIST). */
async function isLive(src) {
  try {
    const master = await fetch(src, { cache: "no-store" });
    if (!master.ok) return false;
    const variant = (await master.text()).split("\n").map((line) => line.trim())
      .find((line) => line && !line.startsWith("#"));
    if (!variant) return false;
    const media = await fetch(new URL(variant, master.url), { cache: "no-store" });
    return media.ok && !(await media.text()).includes("#EXT-X-ENDLIST");
  } catch {
    return false;
  }
}

async function pollUntilLive() {
  if (await isLive(video.dataset.src)) {
    polling = false;
    play();
  } else {
    setTimeout(pollUntilLive, OFFLINE_POLL_MS);
  }
}

function onFatal(data) {
  state.fatalErrors.push(`${data.type}:${data.details}`);
  if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
    hls.recoverMediaError();
  } else if (data.type === Hls.ErrorTypes.NETWORK_ERROR && data.response?.code !== 404) {
    statusEl.textContent = "Connection lost — retrying…";
    const failed = hls;
    const next = nextSource();
    setTimeout(() => { if (hls === failed) hls.loadSource(video.dataset.src); },
      next ? FAILOVER_MS : RETRY_MS);
  } else {
    setTimeout(showOffline); // 404: the stream is gone (or never came); else: start afresh
  }
}

/** Move to the next host that serves the stream, if the page named others; whether it did.
 * The failed one goes to the back of the line: it may be back by the time its turn comes. */
function nextSource() {
  const others = JSON.parse(video.dataset.fallbacks || "[]");
  if (!others.length) return false;
  const failed = video.dataset.src;
  video.dataset.src = others.shift();
  video.dataset.fallbacks = JSON.stringify([...others, failed]);
  state.sources.push(video.dataset.src);
  return true;
}

function play() {
  offline.hidden = true;
  video.controls = true;
  statusEl.textContent = "Connecting…";
  if (!window.Hls || !Hls.isSupported()) {
    video.src = video.dataset.src; // Safari plays LL-HLS natively
    return;
  }
  hls = new Hls({ lowLatencyMode: true, backBufferLength: 30, liveDurationInfinity: true });
  state.hls = hls;
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    fillQualityMenu();
    badge.hidden = false;
    onLive();
    video.play().catch(() => { statusEl.textContent = "Press play"; });
  });
  hls.on(Hls.Events.LEVEL_LOADED, (_event, data) => {
    if (!data.details.live && !started) setTimeout(showOffline); // it ended before we tuned in
  });
  hls.on(Hls.Events.ERROR, (_event, data) => { if (data.fatal) onFatal(data); });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
    state.levelSwitches.push({ level: data.level, at: performance.now() });
  });
  hls.loadSource(video.dataset.src);
  hls.attachMedia(video);
}

function jumpToLive() {
  if (hls?.liveSyncPosition) video.currentTime = hls.liveSyncPosition;
  video.play().catch(() => {});
}

function tick() {
  if (!hls) return;
  const latency = latencySeconds();
  if (latency !== null && !video.paused) {
    state.latencySamples.push(latency);
    if (state.latencySamples.length > MAX_SAMPLES) state.latencySamples.shift();
    latencyEl.textContent = `latency ${latency.toFixed(2)} s`;
  }
  const sync = hls.liveSyncPosition;
  const behind = started && (video.paused || (sync !== null && sync - video.currentTime > BEHIND_SECONDS));
  goLive.hidden = !behind;
  badge.classList.toggle("behind", behind);
  badge.title = behind ? "Behind the live edge" : "At the live edge";
}

/** Start playing (or wait for the stream); ``live()`` is called each time it comes up. */
export function startPlayer({ live = () => {} } = {}) {
  onLive = live;
  video.addEventListener("playing", () => { started = true; statusEl.textContent = "Live"; });
  video.addEventListener("pause", () => { if (hls && started) statusEl.textContent = "Paused"; });
  video.addEventListener("ended", showOffline); // the stream ended (its playlist's ENDLIST)
  // currentLevel switches at once (flushing the buffer); Auto hands the choice back to ABR.
  quality.addEventListener("change", () => { if (hls) hls.currentLevel = Number(quality.value); });
  goLive.addEventListener("click", jumpToLive);
  setInterval(tick, 500);
  if (video.dataset.live === "true") play();
  else showOffline();
}
