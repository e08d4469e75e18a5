// The share panel: this video's link, optionally starting at the current moment (?t=, which
// the page honours on load), and a Copy button. Where the clipboard is not available (plain
// http on another host) the link is selected for the viewer to copy.
import { duration, notify } from "../ui.js";

export function mountShare(info, player) {
  const toggle = document.getElementById("share");
  const panel = document.getElementById("share-panel");
  const url = document.getElementById("share-url");
  const atTime = document.getElementById("share-at-time");
  const when = document.getElementById("share-time");
  let moment = 0;

  const link = () => {
    const address = new URL(`/v/${info.id}`, location.origin);
    if (atTime.checked && moment > 0) address.searchParams.set("t", String(moment));
    return address.href;
  };
  const refresh = () => {
    moment = Math.floor(player.video.currentTime);
    when.textContent = duration(moment);
    url.value = link();
  };

  toggle.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    toggle.setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) {
      refresh();
      url.focus();
      url.select();
    }
  });
  atTime.addEventListener("change", () => { url.value = link(); });
  document.getElementById("share-copy").addEventListener("click", async () => {
    refresh();
    try {
      await navigator.clipboard.writeText(url.value);
      notify("Link copied");
    } catch {
      url.focus();
      url.select();
      notify("Press Ctrl+C (⌘C) to copy the selected link");
    }
  });
}
