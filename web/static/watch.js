// Live watch page: hls.js in low-latency mode, a quality menu (Auto or one rendition of the
// ladder), and a glass-to-glass latency readout.
// Latency = now − EXT-X-PROGRAM-DATE-TIME of the playing position; the server anchors PDT at
// the ingest wall clock, so this is what a viewer actually experiences.
const video = document.getElementById("player");
const statusEl = document.getElementById("status");
const latencyEl = document.getElementById("latency");
const badge = document.getElementById("live-badge");
const quality = document.getElementById("quality");
const src = video.dataset.src;

export const state = { latencySamples: [], fatalErrors: [], levelSwitches: [], hls: null };
window.tributary = state;

function latencySeconds(hls) {
  const playing = hls.playingDate;
  return playing ? (Date.now() - playing.getTime()) / 1000 : null;
}

function levelLabel(level) {
  return level.height ? `${level.height}p` : `${Math.round(level.bitrate / 1000)} kb/s`;
}

// Options are ordered as hls.js orders its levels (by bitrate); values are level indexes.
function fillQualityMenu(hls) {
  quality.replaceChildren(new Option("Auto", "-1"));
  hls.levels.forEach((level, index) => quality.add(new Option(levelLabel(level), String(index))));
  quality.value = "-1";
  quality.parentElement.hidden = hls.levels.length < 2;
}

function start() {
  if (!window.Hls || !Hls.isSupported()) {
    video.src = src; // Safari plays LL-HLS natively
    return;
  }
  const hls = new Hls({ lowLatencyMode: true, backBufferLength: 30, liveDurationInfinity: true });
  state.hls = hls;
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    fillQualityMenu(hls);
    statusEl.textContent = "Live";
    badge.hidden = false;
    video.play().catch(() => { statusEl.textContent = "Press play"; });
  });
  hls.on(Hls.Events.ERROR, (_event, data) => {
    if (!data.fatal) return;
    state.fatalErrors.push(`${data.type}:${data.details}`);
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      statusEl.textContent = "Stream offline — retrying…";
      badge.hidden = true;
      setTimeout(() => hls.loadSource(src), 3000);
    } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      hls.recoverMediaError();
    }
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
    state.levelSwitches.push({ level: data.level, at: performance.now() });
  });
  // currentLevel switches at once (flushing the buffer); Auto hands the choice back to ABR.
  quality.addEventListener("change", () => { hls.currentLevel = Number(quality.value); });
  hls.loadSource(src);
  hls.attachMedia(video);
  setInterval(() => {
    const latency = latencySeconds(hls);
    if (latency === null || video.paused) return;
    state.latencySamples.push(latency);
    if (state.latencySamples.length > 1000) state.latencySamples.shift();
    latencyEl.textContent = `latency ${latency.toFixed(2)} s`;
  }, 500);
}

start();
