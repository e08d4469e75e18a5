// Seek previews: while a pointer hovers or drags the seek bar, or the keyboard moves it, a
// small picture of that moment and its time float above it. The pictures come from the
// video's storyboard track (storyboard.vtt beside master.m3u8): WebVTT cues whose text names a
// tile of a sprite sheet, "thumb12.jpg#xywh=160,0,160,90". A video without a storyboard (a
// recorded live stream) still shows the time.
import { duration } from "../ui.js";

const KEYBOARD_LINGER_MS = 1000;

function seconds(stamp) {
  return stamp.split(":").reduce((total, part) => total * 60 + Number(part), 0);
}

/** The track's cues: [{start, end, url, x, y, w, h}], URLs resolved against the track's. */
export function parseStoryboard(text, trackUrl) {
  const cues = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const timing = lines[i].match(/^([\d:.]+)\s+-->\s+([\d:.]+)/);
    const payload = timing && lines[i + 1];
    if (!payload) continue;
    const [uri, fragment = ""] = payload.trim().split("#");
    const box = fragment.match(/^xywh=(\d+),(\d+),(\d+),(\d+)$/);
    if (!box) continue;
    const [x, y, w, h] = box.slice(1).map(Number);
    cues.push({ start: seconds(timing[1]), end: seconds(timing[2]), url: new URL(uri, trackUrl).href, x, y, w, h });
  }
  return cues;
}

function storyboardUrl(source) {
  const url = new URL(source.url);
  url.pathname = url.pathname.replace(/master\.m3u8$/, "storyboard.vtt");
  return url.href;
}

async function loadCues(source) {
  const url = storyboardUrl(source);
  try {
    const response = await fetch(url);
    return response.ok ? parseStoryboard(await response.text(), url) : [];
  } catch {
    return [];
  }
}

/** Show previews above the player's seek bar (``player`` from startPlayer). */
export async function mountStoryboard(player) {
  const seek = document.getElementById("seek");
  const preview = document.getElementById("seek-preview");
  const image = preview.querySelector(".seek-preview-image");
  const time = preview.querySelector(".seek-preview-time");
  let cues = [];
  let dragging = false;
  let lingering = null;

  const show = (at) => {
    const max = Number(seek.max) || 0;
    if (!max) return;
    const cue = cues.find((c) => at >= c.start && at < c.end) || (at >= max && cues.at(-1));
    image.hidden = !cue;
    if (cue) {
      Object.assign(image.style, {
        width: `${cue.w}px`, height: `${cue.h}px`,
        backgroundImage: `url("${cue.url}")`, backgroundPosition: `-${cue.x}px -${cue.y}px`,
      });
    }
    time.textContent = duration(at);
    preview.hidden = false;
    // Just above the bar, centred over the moment, kept inside the player.
    const bar = seek.getBoundingClientRect();
    const frame = preview.offsetParent.getBoundingClientRect();
    const centre = bar.left - frame.left + (at / max) * bar.width;
    const half = preview.offsetWidth / 2;
    preview.style.left = `${Math.max(0, Math.min(centre - half, frame.width - 2 * half))}px`;
    preview.style.top = `${bar.top - frame.top - preview.offsetHeight - 6}px`;
  };
  const hide = () => { preview.hidden = true; };
  const atPointer = (event) => {
    const bar = seek.getBoundingClientRect();
    const fraction = Math.max(0, Math.min(1, (event.clientX - bar.left) / bar.width));
    return fraction * (Number(seek.max) || 0);
  };

  seek.addEventListener("pointermove", (event) => show(atPointer(event)));
  seek.addEventListener("pointerdown", () => { dragging = true; });
  seek.addEventListener("pointerleave", () => { if (!dragging) hide(); });
  document.addEventListener("pointerup", () => { if (dragging) { dragging = false; hide(); } });
  seek.addEventListener("input", () => {
    show(Number(seek.value));
    if (dragging) return;
    clearTimeout(lingering); // a key press: show the preview for a moment
    lingering = setTimeout(hide, KEYBOARD_LINGER_MS);
  });
  seek.addEventListener("blur", hide);

  cues = await loadCues(player.source);
}
