// Embeddings: several texts -> /v1/embeddings -> their cosine similarity matrix as a heatmap.

import { postJson } from "./api.js";
import { $, bindForm, el, lines } from "./dom.js";

export function cosine(a, b) {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

/** Blue for similar, white for unrelated (negative values stay white). */
function cellStyle(value) {
  const strength = Math.max(0, Math.min(1, value));
  const lightness = 97 - 55 * strength;
  return { background: `hsl(221 83% ${lightness}%)`, color: lightness < 60 ? "#fff" : "#1d1f23" };
}

function short(text, max = 28) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function heatmap(texts, vectors) {
  const header = el(
    "tr",
    {},
    el("th"),
    ...texts.map((text, j) => el("th", { title: text }, `#${j + 1}`)),
  );
  const rows = texts.map((text, i) =>
    el(
      "tr",
      {},
      el("th", { class: "text", title: text }, `#${i + 1} ${short(text)}`),
      ...texts.map((_, j) => {
        const value = cosine(vectors[i], vectors[j]);
        return el(
          "td",
          {
            class: "cell",
            "data-row": i,
            "data-col": j,
            "data-value": value,
            title: `cos(#${i + 1}, #${j + 1}) = ${value.toFixed(4)}`,
            style: cellStyle(value),
          },
          value.toFixed(2),
        );
      }),
    ),
  );
  return el("table", { class: "heatmap" }, el("thead", {}, header), el("tbody", {}, ...rows));
}

export function initEmbed(section) {
  const result = $("#embed-result", section);
  bindForm($("#embed-form", section), $("#embed-error", section), async () => {
    const texts = lines($("#embed-input", section).value);
    if (texts.length === 0) throw new Error("Enter at least one text, one per line.");
    const reply = await postJson("/v1/embeddings", {
      model: $("#embed-model", section).value,
      input: texts,
    });
    const vectors = [];
    for (const item of reply.data) vectors[item.index] = item.embedding;
    result.replaceChildren(
      heatmap(texts, vectors),
      el("p", { class: "muted" }, `${reply.usage.prompt_tokens} tokens, ${vectors[0].length} dims`),
    );
  });
}
