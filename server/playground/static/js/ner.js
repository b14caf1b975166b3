// NER: one text -> /v1/ner -> the text with each entity highlighted by type; hovering shows
// its score and offsets. Offsets count Unicode code points (Python string indices), so the
// text is sliced by code point, not by JavaScript's UTF-16 units.

import { postJson } from "./api.js";
import { $, bindForm, colourFor, el } from "./dom.js";

/** Text nodes and <mark> elements for `text` with `entities` (sorted, non-overlapping). */
export function highlight(text, entities) {
  const chars = Array.from(text);
  const parts = [];
  let at = 0;
  const sorted = [...entities].sort((a, b) => a.start - b.start || b.end - a.end);
  for (const entity of sorted) {
    if (entity.start < at || entity.end <= entity.start) continue; // overlapping: keep the first
    if (entity.start > at) parts.push(chars.slice(at, entity.start).join(""));
    const span = chars.slice(entity.start, entity.end).join("");
    parts.push(
      el(
        "mark",
        {
          class: "entity",
          "data-type": entity.entity_group,
          "data-start": entity.start,
          "data-end": entity.end,
          "data-score": entity.score,
          title: `${entity.entity_group} · score ${entity.score.toFixed(3)} · [${entity.start}, ${entity.end})`,
          style: { background: colourFor(entity.entity_group) },
        },
        span,
      ),
    );
    at = entity.end;
  }
  if (at < chars.length) parts.push(chars.slice(at).join(""));
  return parts;
}

export function initNer(section) {
  const result = $("#ner-result", section);
  bindForm($("#ner-form", section), $("#ner-error", section), async () => {
    const text = $("#ner-input", section).value;
    if (!text.trim()) throw new Error("Enter a text.");
    const reply = await postJson("/v1/ner", { model: $("#ner-model", section).value, input: text });
    const { entities } = reply.data[0];
    const types = [...new Set(entities.map((entity) => entity.entity_group))].sort();
    result.replaceChildren(
      el("p", { class: "ner-text" }, ...highlight(text, entities)),
      el(
        "div",
        { class: "legend" },
        ...types.map((type) => el("span", { style: { background: colourFor(type) } }, type)),
        entities.length ? null : el("span", { class: "muted" }, "No entities found."),
      ),
    );
  });
}
