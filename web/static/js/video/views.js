// View counting by the catalog's rule (catalog/video_views.py): opening the page is not a
// view; a view happens once the viewer has actually watched 10 seconds (or the whole video,
// if it is shorter), and the server counts it at most once per viewer per hour. Watched time
// is time played, not the distance seeked. Signed-out viewers send a random id kept for this
// browsing session, so two people behind one address are two viewers.
import { api } from "../api.js";
import { currentSession } from "../session.js";

const MIN_WATCHED_SECONDS = 10;
const SESSION_KEY = "tributary.viewSession";
const MAX_STEP = 1.5; // a timeupdate step longer than this was a seek, not watching

function sessionId() {
  let id = sessionStorage.getItem(SESSION_KEY);
  if (!id) {
    id = crypto.randomUUID();
    sessionStorage.setItem(SESSION_KEY, id);
  }
  return id;
}

/** Report the view once it has happened; ``counted()`` is called if the server counted it. */
export function countView(info, player, counted) {
  const { video } = player;
  const required = Math.min(MIN_WATCHED_SECONDS, info.duration_seconds ?? MIN_WATCHED_SECONDS);
  let watched = 0;
  let last = null;
  let reported = false;

  const report = async (seconds) => {
    reported = true;
    const json = { watched_seconds: seconds };
    if (!currentSession()) json.session_id = sessionId();
    try {
      if ((await api("POST", `/videos/${info.id}/views`, { json })).counted) counted();
    } catch {
      // Not counted this time; nothing the viewer needs to hear about.
    }
  };

  video.addEventListener("seeking", () => { last = null; });
  const check = () => {
    if (reported) return;
    if (watched >= required) report(watched);
    // A short video played to its end was watched whole, though its last frame may come a
    // little before the duration the catalog lists.
    else if (video.ended && watched >= required - 1) report(required);
  };
  video.addEventListener("timeupdate", () => {
    const now = video.currentTime;
    if (last !== null && !video.paused && now > last && now - last < MAX_STEP) watched += now - last;
    last = now;
    check();
  });
  video.addEventListener("ended", check);
}
