// Browser publisher: camera and microphone (getUserMedia) → RTCPeerConnection → WHIP (RFC 9725).
// Hand-written because it is a few dozen lines of standard browser APIs; WHIP client libraries
// add trickle ICE and restarts this page does not need.
// Non-trickle: the offer is POSTed once ICE gathering is complete, so it already carries every
// candidate and no PATCH is needed. H.264 goes first in the offer when the browser has it (the
// node re-encodes either way; H.264 is what most hardware encoders do cheaply).
// The studio links here as /publish?stream=NAME#key=KEY: the stream's own WHIP URL is used and
// the key filled in (after the #, which is never sent to a server; ?key= works too), then taken
// out of the address bar. Without a stream the key alone picks it (POST /whip).
const preview = document.getElementById("preview");
const form = document.getElementById("controls");
const keyInput = document.getElementById("key");
const cameraSelect = document.getElementById("camera");
const micSelect = document.getElementById("microphone");
const startButton = document.getElementById("start");
const stopButton = document.getElementById("stop");
const statusEl = document.getElementById("status");
const detailsEl = document.getElementById("details");
const badge = document.getElementById("live-badge");

const GATHERING_TIMEOUT_MS = 5000;
const STREAM_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const params = new URLSearchParams(location.search);
const stream = STREAM_NAME.test(params.get("stream") || "") ? params.get("stream") : null;
const endpoint = stream ? `/whip/${stream}` : "/whip";
const givenKey = new URLSearchParams(location.hash.slice(1)).get("key") || params.get("key");
if (givenKey) {
  keyInput.value = givenKey;
  params.delete("key");
  history.replaceState(null, "", location.pathname + (params.size ? `?${params}` : ""));
}
if (stream) {
  document.getElementById("stream-name").textContent = `: ${stream}`;
  const watch = document.getElementById("watch-link");
  watch.href = `/watch/${stream}`;
  watch.hidden = false;
}

// Read by the end-to-end tests and the glass-to-glass benchmark.
export const state = { phase: "idle", connectionStates: [], errors: [], resource: null, videoCodec: null };
window.tributary = state;

let media = null; // the MediaStream being previewed (and published)
let pc = null;
let key = null;

function show(phase, text, details = "") {
  state.phase = phase;
  statusEl.textContent = text;
  detailsEl.textContent = details;
  badge.hidden = phase !== "live";
  startButton.disabled = phase !== "idle" || !media;
  stopButton.disabled = phase === "idle";
}

function fail(message) {
  state.errors.push(message);
  show("idle", message);
}

async function openMedia() {
  const constraints = {
    video: { deviceId: cameraSelect.value ? { exact: cameraSelect.value } : undefined,
             width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
    audio: micSelect.value ? { deviceId: { exact: micSelect.value } } : true,
  };
  const next = await navigator.mediaDevices.getUserMedia(constraints);
  if (pc) { // live: swap the tracks without renegotiating (WHIP has no renegotiation)
    for (const sender of pc.getSenders()) {
      const track = next.getTracks().find((t) => sender.track && t.kind === sender.track.kind);
      if (track) await sender.replaceTrack(track);
    }
  }
  if (media) media.getTracks().forEach((t) => t.stop());
  media = next;
  preview.srcObject = media;
}

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [select, kind, track] of [[cameraSelect, "videoinput", media.getVideoTracks()[0]],
                                       [micSelect, "audioinput", media.getAudioTracks()[0]]]) {
    const current = track ? track.getSettings().deviceId : "";
    select.replaceChildren(...devices.filter((d) => d.kind === kind).map(
      (d, i) => new Option(d.label || `${kind} ${i + 1}`, d.deviceId, false, d.deviceId === current)));
  }
}

function preferH264(transceiver) {
  const capabilities = (RTCRtpSender.getCapabilities && RTCRtpSender.getCapabilities("video"))
    || RTCRtpReceiver.getCapabilities("video");
  if (!capabilities || !transceiver.setCodecPreferences) return;
  const rank = (c) => (c.mimeType.toLowerCase() === "video/h264"
    ? ((c.sdpFmtpLine || "").includes("packetization-mode=1") ? 0 : 1) : 2);
  const codecs = [...capabilities.codecs].sort((a, b) => rank(a) - rank(b));
  try { transceiver.setCodecPreferences(codecs); } catch (_) { /* keep the browser's order */ }
}

function gatheringComplete(connection) {
  if (connection.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (connection.iceGatheringState !== "complete") return;
      connection.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    connection.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, GATHERING_TIMEOUT_MS); // send what we have; host candidates come first
  });
}

async function start(event) {
  event.preventDefault();
  key = keyInput.value.trim();
  if (!key || !media) return;
  show("connecting", "Connecting…");
  pc = new RTCPeerConnection();
  const connection = pc;
  for (const track of media.getTracks()) {
    const transceiver = pc.addTransceiver(track, { direction: "sendonly", streams: [media] });
    if (track.kind === "video") preferH264(transceiver);
  }
  pc.addEventListener("connectionstatechange", () => {
    state.connectionStates.push(connection.connectionState);
    if (connection !== pc) return;
    if (connection.connectionState === "connected") show("live", "Live");
    if (connection.connectionState === "failed") {
      stop();
      fail("The connection to the server failed.");
    }
  });
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc);
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/sdp", Authorization: `Bearer ${key}` },
      body: pc.localDescription.sdp,
    });
    if (response.status === 401) {
      throw new Error("the stream key was refused: check it, or rotate it in the studio for a new one");
    }
    if (response.status !== 201) {
      throw new Error(`${response.status}: ${(await response.text()).trim()}`);
    }
    state.resource = new URL(response.headers.get("Location"), window.location.href).href;
    const answer = await response.text();
    state.videoCodec = (answer.match(/a=rtpmap:\d+ (H264|VP8)\//i) || [])[1] || null;
    if (connection !== pc) return; // stopped meanwhile
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    detailsEl.textContent = state.videoCodec ? `sending ${state.videoCodec}` : "";
  } catch (error) {
    await stop();
    fail(`Could not go live: ${error.message}`);
  }
}

async function stop() {
  const resource = state.resource;
  state.resource = null;
  if (pc) {
    pc.close();
    pc = null;
  }
  show("idle", "Stopped.");
  if (resource) {
    await fetch(resource, { method: "DELETE", headers: { Authorization: `Bearer ${key}` } })
      .catch(() => {}); // the server also notices the media stop within seconds
  }
}

form.addEventListener("submit", start);
stopButton.addEventListener("click", () => stop());
cameraSelect.addEventListener("change", () => openMedia().catch((e) => fail(e.message)));
micSelect.addEventListener("change", () => openMedia().catch((e) => fail(e.message)));
window.addEventListener("pagehide", () => {
  if (state.resource) {
    fetch(state.resource, { method: "DELETE", keepalive: true, headers: { Authorization: `Bearer ${key}` } });
  }
});

openMedia()
  .then(listDevices)
  .then(() => show("idle", keyInput.value ? "Ready: press Start to go live."
    : "Ready: enter your stream key and start."))
  .catch((error) => fail(`No camera or microphone: ${error.message}`));
