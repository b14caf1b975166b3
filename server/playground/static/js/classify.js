// Classification: one text -> /v1/classify -> the probability of every label as a bar.

import { postJson } from "./api.js";
import { $, bindForm, el } from "./dom.js";

/** One labelled bar: `score` (0-1) as the fill's width and a percentage. */
export function bar(label, score) {
  const percent = score * 100;
  return el(
    "div",
    { class: "bar-row", "data-label": label, "data-score": score },
    el("span", { class: "label" }, label),
    el("div", { class: "bar" }, el("div", { class: "fill", style: { width: `${percent}%` } })),
    el("span", { class: "pct" }, `${percent.toFixed(1)}%`),
  );
}

export function initClassify(section) {
  const result = $("#classify-result", section);
  bindForm($("#classify-form", section), $("#classify-error", section), async () => {
    const text = $("#classify-input", section).value;
    if (!text.trim()) throw new Error("Enter a text to classify.");
    const reply = await postJson("/v1/classify", {
      model: $("#classify-model", section).value,
      input: text,
    });
    const [first] = reply.data;
    result.replaceChildren(
      el("p", {}, "Predicted: ", el("b", { class: "predicted" }, first.label)),
      el("div", { class: "bars" }, ...first.labels.map((item) => bar(item.label, item.score))),
    );
  });
}
