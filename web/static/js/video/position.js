// Where playback starts and where the viewer left off. A shared link's ?t= wins; otherwise a
// signed-in viewer resumes from their watch history (GET /me/history/{id}; the player PUTs its
// position every few seconds, on pause and when the page goes away) and a signed-out one from
// this browser's localStorage. A video watched to (almost) the end starts again from the top.
import { api } from "../api.js";
import { currentSession } from "../session.js";

const SAVE_EVERY_MS = 10_000;
const LOCAL_KEY = "tributary.positions";
const LOCAL_LIMIT = 50; // videos remembered in this browser
const NOT_WORTH_RESUMING = 5; // seconds at either end

/** ``?t=`` as the share link writes it (seconds), or as people type it: 90, 90s, 1m30s, 1:30. */
export function sharedTime(search = location.search) {
  const t = new URLSearchParams(search).get("t");
  if (!t) return null;
  if (/^\d+(\.\d+)?s?$/.test(t)) return parseFloat(t);
  const clock = t.match(/^(?:(\d+):)?(\d+):(\d{1,2})$/);
  if (clock) return Number(clock[1] || 0) * 3600 + Number(clock[2]) * 60 + Number(clock[3]);
  const units = t.match(/^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/);
  if (units) return Number(units[1] || 0) * 3600 + Number(units[2] || 0) * 60 + Number(units[3] || 0);
  return null;
}

function localPositions() {
  try {
    return JSON.parse(localStorage.getItem(LOCAL_KEY) || "{}");
  } catch {
    return {};
  }
}

function saveLocal(videoId, position, finished) {
  const positions = localPositions();
  positions[videoId] = { position, finished, at: Date.now() };
  const newest = Object.entries(positions).sort((a, b) => b[1].at - a[1].at).slice(0, LOCAL_LIMIT);
  try {
    localStorage.setItem(LOCAL_KEY, JSON.stringify(Object.fromEntries(newest)));
  } catch {
    // Storage full or switched off: this browser just will not remember the position.
  }
}

async function savedPosition(videoId) {
  if (!currentSession()) return localPositions()[videoId] || null;
  try {
    const entry = await api("GET", `/me/history/${videoId}`);
    return { position: entry.position_seconds, finished: entry.finished };
  } catch {
    return null; // never watched (404), or the history is unreachable: start at the top
  }
}

/** Seconds to start ``info`` (a VideoOut) from. */
export async function startPosition(info) {
  const shared = sharedTime();
  if (shared !== null) return shared;
  const saved = await savedPosition(info.id);
  if (!saved || saved.finished || saved.position < NOT_WORTH_RESUMING) return 0;
  const end = info.duration_seconds;
  return end && saved.position > end - NOT_WORTH_RESUMING ? 0 : saved.position;
}

/** Keep saving the position of ``player`` while it plays. */
export function rememberPosition(info, player) {
  const { video } = player;
  let started = false; // nothing is saved for a page that was opened and never played
  let timer = null;

  const report = () => ({ position_seconds: video.currentTime, finished: video.ended });
  const save = () => {
    if (!started) return;
    const body = report();
    if (!currentSession()) {
      saveLocal(info.id, body.position_seconds, body.finished);
      return;
    }
    api("PUT", `/me/history/${info.id}`, { json: body }).catch(() => {});
  };

  video.addEventListener("playing", () => {
    started = true;
    clearInterval(timer);
    timer = setInterval(save, SAVE_EVERY_MS);
  });
  video.addEventListener("pause", () => { clearInterval(timer); save(); });
  video.addEventListener("ended", save);
  video.addEventListener("seeked", () => { if (video.paused) save(); });
  window.addEventListener("pagehide", () => {
    const session = currentSession();
    if (!started || !session) {
      save();
      return;
    }
    // The page is going: only a keepalive request outlives it (api() cannot ask for one).
    fetch(`/api/v1/me/history/${info.id}`, {
      method: "PUT",
      keepalive: true,
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${session.access}` },
      body: JSON.stringify(report()),
    }).catch(() => {});
  });
}
