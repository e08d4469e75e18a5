// The player's own control bar (play, seek bar, clock, mute, volume, full screen) instead of
// the browser's: the seek bar must be ours to show storyboard previews on it, and real buttons
// and range inputs keep every control reachable from the keyboard. Shortcuts on the player:
// Space/K play or pause, ←/→ five seconds back or on, M mute, F full screen.
import { duration } from "../ui.js";

const SKIP_SECONDS = 5;

/** Wire the control bar to the <video>; returns {seekTo(seconds)}. */
export function mountControls(video, box) {
  const play = box.querySelector("#play");
  const seek = box.querySelector("#seek");
  const clock = box.querySelector("#clock");
  const mute = box.querySelector("#mute");
  const volume = box.querySelector("#volume");
  const fullscreen = box.querySelector("#fullscreen");
  let scrubbing = false; // a pointer is dragging the seek bar: seek when it lets go

  const seekTo = (seconds) => {
    const end = Number.isFinite(video.duration) ? video.duration : seconds;
    video.currentTime = Math.max(0, Math.min(seconds, end));
  };
  const toggle = () => (video.paused || video.ended ? video.play().catch(() => {}) : video.pause());

  const showTime = (seconds) => {
    const total = Number.isFinite(video.duration) ? video.duration : 0;
    clock.textContent = `${duration(seconds)} / ${duration(total)}`;
    seek.setAttribute("aria-valuetext", `${duration(seconds)} of ${duration(total)}`);
  };
  const showPlaying = () => {
    const paused = video.paused || video.ended;
    play.dataset.state = paused ? "paused" : "playing";
    play.setAttribute("aria-label", paused ? "Play" : "Pause");
  };
  const showVolume = () => {
    const silent = video.muted || video.volume === 0;
    mute.dataset.state = silent ? "muted" : "on";
    mute.setAttribute("aria-pressed", String(video.muted));
    volume.value = String(video.muted ? 0 : video.volume);
  };

  play.addEventListener("click", toggle);
  video.addEventListener("click", toggle);
  video.addEventListener("play", showPlaying);
  video.addEventListener("pause", showPlaying);
  video.addEventListener("ended", showPlaying);
  video.addEventListener("durationchange", () => {
    seek.max = String(Number.isFinite(video.duration) ? video.duration : 0);
    showTime(video.currentTime);
  });
  video.addEventListener("timeupdate", () => {
    if (scrubbing) return;
    seek.value = String(video.currentTime);
    showTime(video.currentTime);
  });

  seek.addEventListener("pointerdown", () => { scrubbing = true; });
  seek.addEventListener("input", () => {
    showTime(Number(seek.value));
    if (!scrubbing) seekTo(Number(seek.value)); // keyboard: every step is a seek
  });
  // The range's own keyboard step is its 0.1 s precision: arrows move five seconds instead,
  // Page Up/Down a tenth of the video, Home/End to either end.
  seek.addEventListener("keydown", (event) => {
    const max = Number(seek.max);
    const moves = {
      ArrowLeft: -SKIP_SECONDS, ArrowDown: -SKIP_SECONDS, ArrowRight: SKIP_SECONDS, ArrowUp: SKIP_SECONDS,
      PageDown: -max / 10, PageUp: max / 10, Home: -max, End: max,
    };
    if (!(event.key in moves) || !max) return;
    event.preventDefault();
    seek.value = String(Math.max(0, Math.min(max, Number(seek.value) + moves[event.key])));
    seek.dispatchEvent(new Event("input")); // seeks, and shows the preview of that moment
  });
  // Letting go ends a drag (a click without a move fires no change); seek once, either way.
  const release = () => {
    scrubbing = false;
    if (Math.abs(video.currentTime - Number(seek.value)) > 0.05) seekTo(Number(seek.value));
  };
  seek.addEventListener("change", release);
  document.addEventListener("pointerup", () => { if (scrubbing) release(); });

  mute.addEventListener("click", () => {
    video.muted = !video.muted;
    if (!video.muted && video.volume === 0) video.volume = 0.5;
  });
  volume.addEventListener("input", () => {
    video.volume = Number(volume.value);
    video.muted = video.volume === 0;
  });
  video.addEventListener("volumechange", showVolume);

  const toggleFullscreen = () => {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else box.requestFullscreen?.().catch(() => {});
  };
  fullscreen.addEventListener("click", toggleFullscreen);
  document.addEventListener("fullscreenchange", () => {
    fullscreen.dataset.state = document.fullscreenElement ? "full" : "window";
    fullscreen.setAttribute("aria-label", document.fullscreenElement ? "Exit full screen" : "Full screen");
  });
  if (!document.fullscreenEnabled) fullscreen.hidden = true;

  box.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    // Space and the arrows belong to the focused control (button, seek bar, menu), if any.
    const onControl = event.target !== box && event.target !== video;
    const key = event.key.toLowerCase();
    if (onControl && (key === " " || key.startsWith("arrow"))) return;
    if (key === " " || key === "k") toggle();
    else if (key === "arrowleft") seekTo(video.currentTime - SKIP_SECONDS);
    else if (key === "arrowright") seekTo(video.currentTime + SKIP_SECONDS);
    else if (key === "m") video.muted = !video.muted;
    else if (key === "f") toggleFullscreen();
    else return;
    event.preventDefault();
  });

  showPlaying();
  showVolume();
  return { seekTo };
}
