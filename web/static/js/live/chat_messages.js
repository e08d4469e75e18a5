// The live chat's message list: one <li> per message, its text always set as text, at most a
// few hundred nodes so a busy room cannot grow the page without end, and kept scrolled to the
// newest message unless the viewer has scrolled up to read.
import { el } from "../ui.js";

const MAX_MESSAGES = 300;
const NEAR_BOTTOM_PX = 48;

const BADGES = {
  owner: ["Owner", "The channel's owner"],
  admin: ["Admin", "Site administrator"],
  moderator: ["Mod", "Moderator"],
  subscriber: ["Sub", "Subscriber"],
};

/** A message's author: their name and badge, if any. */
export function authorLine(author) {
  const badge = BADGES[author.badge];
  return [
    el("span", { class: "chat-author" }, author.display_name),
    badge ? el("span", { class: `chat-badge chat-badge-${author.badge}`, title: badge[1] }, badge[0]) : null,
  ];
}

export class MessageList {
  /** ``actions(message)``: the controls to show with a message (moderators'), or null. */
  constructor(list, actions) {
    this.list = list;
    this.actions = actions;
  }

  replace(messages) {
    this.list.replaceChildren(...messages.slice(-MAX_MESSAGES).map((message) => this.item(message)));
    this.list.scrollTop = this.list.scrollHeight;
  }

  add(message) {
    if (this.find(message.id)) return; // our own message: the ack and the broadcast
    const follow = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < NEAR_BOTTOM_PX;
    this.list.append(this.item(message));
    while (this.list.childElementCount > MAX_MESSAGES) this.list.firstElementChild.remove();
    if (follow) this.list.scrollTop = this.list.scrollHeight;
  }

  remove(id) {
    this.find(id)?.remove();
  }

  find(id) {
    return this.list.querySelector(`:scope > [data-id="${CSS.escape(id)}"]`);
  }

  item(message) {
    const sent = new Date(message.time);
    return el("li", { class: "chat-message", "data-id": message.id, "data-user": message.author.id },
      el("time", { datetime: sent.toISOString(), class: "chat-time" },
        sent.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })),
      authorLine(message.author),
      el("span", { class: "chat-text" }, message.text),
      this.actions(message));
  }
}
