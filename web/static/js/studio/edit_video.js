// /studio/videos/{id}: the owner edits a video's title, description, tags and privacy, picks
// its thumbnail among those processing made, follows processing, or deletes the video.
import { api, describe } from "../api.js";
import { el, notify } from "../ui.js";
import { confirmAction, creator, statusView, watchStatus } from "./common.js";

const $ = (id) => document.getElementById(id);
const editor = $("editor");
const form = $("edit-form");
const formError = form.querySelector(".form-error");
const thumbnails = $("thumbnails");
const videoId = editor.dataset.video;

let saved = null; // the video as the server last returned it

function tagsOf(text) {
  return text.split(",").map((tag) => tag.trim()).filter(Boolean);
}

function fill(video) {
  saved = video;
  $("video-title").textContent = `\u201c${video.title}\u201d`;
  form.elements.title.value = video.title;
  form.elements.description.value = video.description;
  form.elements.tags.value = video.tags.join(", ");
  form.elements.privacy.value = video.privacy;
}

/** The thumbnails to choose from (there are none before processing is done). */
async function showThumbnails(video) {
  const legend = thumbnails.querySelector("legend");
  const say = (text) => thumbnails.replaceChildren(legend, el("p", { class: "muted" }, text));
  if (video.status !== "ready") {
    say(video.status === "failed" ? "Processing failed, so there are no thumbnails."
      : "Thumbnails appear here when processing is done.");
    return;
  }
  let list;
  let token = null;
  try {
    // Only kind "thumbnail" may be chosen: the poster stands until one is, storyboard sheets never.
    list = (await api("GET", `/videos/${videoId}/thumbnails`)).filter((picture) => picture.kind === "thumbnail");
    // Pictures of an unlisted or private video are served with a playback token only.
    if (video.privacy !== "public") token = (await api("POST", `/videos/${videoId}/playback-token`)).token;
  } catch (error) {
    say(`Could not load the thumbnails: ${describe(error)}`);
    return;
  }
  if (!list.length) {
    say("Processing made no thumbnails for this video.");
    return;
  }
  const choices = list.map((thumbnail, index) => {
    const src = token ? `${thumbnail.url}?token=${encodeURIComponent(token)}` : thumbnail.url;
    return el("label", { class: "thumb-choice" },
      el("input", { type: "radio", name: "thumbnail", value: thumbnail.id, checked: thumbnail.chosen }),
      el("img", { src, alt: `Thumbnail ${index + 1}`, width: thumbnail.width, height: thumbnail.height,
        loading: "lazy" }));
  });
  const none = list.some((thumbnail) => thumbnail.chosen) ? null
    : el("p", { class: "muted" },
      "None chosen yet: until you pick one, the poster (a frame from early in the video) is shown.");
  thumbnails.replaceChildren(...[legend, none, el("div", { class: "thumb-grid" }, choices)].filter(Boolean));
  thumbnails.dataset.chosen = list.find((thumbnail) => thumbnail.chosen)?.id ?? "";
}

/** Only what changed is sent (a privacy change re-publishes what edges may serve). */
function changes() {
  const out = {};
  const title = form.elements.title.value.trim();
  const tags = tagsOf(form.elements.tags.value);
  if (title !== saved.title) out.title = title;
  if (form.elements.description.value !== saved.description) out.description = form.elements.description.value;
  if (tags.join("\n") !== saved.tags.join("\n")) out.tags = tags;
  if (form.elements.privacy.value !== saved.privacy) out.privacy = form.elements.privacy.value;
  const picked = form.querySelector("input[name=thumbnail]:checked");
  if (picked && picked.value !== thumbnails.dataset.chosen) out.thumbnail_id = Number(picked.value);
  return out;
}

async function save(event) {
  event.preventDefault();
  formError.textContent = "";
  const edit = changes();
  if (!Object.keys(edit).length) {
    notify("Nothing has changed.");
    return;
  }
  if (edit.title === "") {
    formError.textContent = "The title cannot be empty.";
    return;
  }
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    fill(await api("PATCH", `/videos/${videoId}`, { json: edit }));
    if (edit.thumbnail_id !== undefined) thumbnails.dataset.chosen = String(edit.thumbnail_id);
    if (edit.privacy !== undefined) await showThumbnails(saved);
    notify("Saved.");
  } catch (error) {
    formError.textContent = error.status === 403 ? "Only the video's channel can change it." : describe(error);
  } finally {
    submit.disabled = false;
  }
}

async function remove() {
  const sure = await confirmAction(`Delete \u201c${saved.title}\u201d?`,
    "The video is removed for good, with its comments, reactions and views. This cannot be undone.",
    "Delete video");
  if (!sure) return;
  try {
    await api("DELETE", `/videos/${videoId}`);
    location.assign("/studio");
  } catch (error) {
    notify(`Could not delete the video: ${describe(error)}`, { error: true });
  }
}

const me = await creator($("studio-gate"));
if (me) {
  let video = null;
  try {
    video = await api("GET", `/videos/${videoId}`);
  } catch (error) {
    $("studio-gate").replaceChildren(el("section", { class: "message-page" },
      el("h1", {}, error.status === 404 ? "No such video" : "The video could not load"),
      el("p", {}, error.status === 404 ? "It may have been deleted, or it is not yours." : describe(error)),
      el("p", {}, el("a", { href: "/studio" }, "Back to the studio"))));
  }
  if (video && video.channel !== me.channel.handle && me.user.role !== "admin") {
    $("studio-gate").replaceChildren(el("section", { class: "message-page" },
      el("h1", {}, "This is not your video"),
      el("p", {}, "Only its channel can edit it."),
      el("p", {}, el("a", { href: `/v/${video.id}` }, "Watch it"))));
  } else if (video) {
    fill(video);
    editor.hidden = false;
    const status = statusView();
    $("video-status").replaceChildren(el("span", { class: "muted" }, "Status"), status.node);
    status.update(video);
    if (video.status === "processing" || video.status === "uploading") {
      watchStatus(videoId, async (now) => {
        status.update(now);
        if (now.status === "ready" || now.status === "failed") {
          await showThumbnails({ ...saved, status: now.status });
        }
      });
    }
    await showThumbnails(video);
    form.addEventListener("submit", save);
    $("delete").addEventListener("click", remove);
  }
}
