// Like and dislike: two toggle buttons (aria-pressed) with their counts. Pressing the lit one
// takes the reaction back (DELETE), the other one sets or switches it (PUT); the counts shown
// are the server's answer. Visitors are sent to sign in.
import { api } from "../api.js";
import { currentSession } from "../session.js";
import { notify } from "../ui.js";
import { signedInOrAway } from "./account.js";

const like = document.getElementById("like");
const dislike = document.getElementById("dislike");

function show(state) {
  like.setAttribute("aria-pressed", String(state.reaction === "like"));
  dislike.setAttribute("aria-pressed", String(state.reaction === "dislike"));
  document.getElementById("like-count").textContent = String(state.like_count);
  document.getElementById("dislike-count").textContent = String(state.dislike_count);
}

export async function mountReactions(info) {
  let state = { reaction: null, like_count: info.like_count, dislike_count: info.dislike_count };
  show(state);
  const press = async (reaction) => {
    if (!signedInOrAway()) return;
    like.disabled = dislike.disabled = true;
    try {
      state = state.reaction === reaction
        ? await api("DELETE", `/videos/${info.id}/reaction`)
        : await api("PUT", `/videos/${info.id}/reaction`, { json: { reaction } });
      show(state);
    } catch (error) {
      notify(`Could not save your ${reaction}: ${error.message}`, { error: true });
    } finally {
      like.disabled = dislike.disabled = false;
    }
  };
  like.addEventListener("click", () => press("like"));
  dislike.addEventListener("click", () => press("dislike"));
  if (currentSession()) {
    try {
      state = await api("GET", `/videos/${info.id}/reaction`);
      show(state);
    } catch {
      // The counts from the video stay; pressing a button still works.
    }
  }
}
