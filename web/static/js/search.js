// The search page: results for ?q= with the API's filters (what to show, sort, upload date,
// duration). The filters live in the page's URL, so a search can be linked and reloaded;
// results grow with "More" (the API's next_cursor).
import { api } from "./api.js";
import { liveCard, pagedList, videoCard } from "./browse.js";
import { el } from "./ui.js";

const MAX_QUERY = 100; // the API's limit on q
const DURATIONS = {
  short: { max_duration: 240 },
  medium: { min_duration: 240, max_duration: 1200 },
  long: { min_duration: 1200 },
};

const form = document.getElementById("filters");
const results = document.getElementById("results");
const params = new URLSearchParams(location.search);
const query = (params.get("q") || "").trim();

/** The page's filters from its URL; a value that is not one of a menu's choices is dropped. */
function readFilters() {
  const chosen = {};
  for (const select of form.querySelectorAll("select")) {
    const value = params.get(select.name) || "";
    select.value = [...select.options].some((option) => option.value === value) ? value : "";
    if (select.value) chosen[select.name] = select.value;
  }
  return chosen;
}

/** Upload date and duration never match a live stream: off while only live streams are shown. */
function reflectType() {
  const liveOnly = form.elements.type.value === "live";
  for (const name of ["uploaded", "duration"]) form.elements[name].disabled = liveOnly;
}

// Submit without the empty choices, so the URL holds only the filters in use.
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const url = new URL("/search", location.origin);
  for (const [name, value] of new FormData(form)) if (value) url.searchParams.set(name, value);
  location.assign(url.pathname + url.search);
});
form.elements.type.addEventListener("change", reflectType);

const filters = readFilters();
reflectType();
if (!query) {
  form.hidden = true;
  results.append(el("p", { class: "empty" }, "Type words in the search box to find videos and live streams."));
} else if (query.length > MAX_QUERY) {
  results.append(el("p", { class: "empty" },
    `Search words are limited to ${MAX_QUERY} characters; this search has ${query.length}.`));
} else {
  const { duration: length, uploaded, ...rest } = filters;
  const videoFilters = filters.type === "live" ? {} : { uploaded, ...DURATIONS[length] };
  const criteria = { q: query, ...rest, ...videoFilters };
  pagedList(results, {
    load: (cursor) => api("GET", "/search", { query: { ...criteria, limit: 24, cursor } }),
    render: (item) => (item.kind === "live" ? liveCard(item) : videoCard(item)),
    empty: `Nothing found for “${query}”. Try other words${Object.keys(filters).length ? " or fewer filters" : ""}.`,
  });
}
