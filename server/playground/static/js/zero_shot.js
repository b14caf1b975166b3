// Zero-shot classification: a text and candidate labels -> /v1/zero-shot -> a bar per label.
// Not multi-label, the scores are a softmax over the labels (they sum to 100%); multi-label,
// each label is scored alone.

import { postJson } from "./api.js";
import { bar } from "./classify.js";
import { $, bindForm, el } from "./dom.js";

/** The labels of a comma-separated list, trimmed, blanks dropped. */
export function labelList(text) {
  return text
    .split(",")
    .map((label) => label.trim())
    .filter((label) => label !== "");
}

export function initZeroShot(section) {
  const result = $("#zero-shot-result", section);
  bindForm($("#zero-shot-form", section), $("#zero-shot-error", section), async () => {
    const text = $("#zero-shot-input", section).value;
    const labels = labelList($("#zero-shot-labels", section).value);
    if (!text.trim()) throw new Error("Enter a text to classify.");
    if (labels.length === 0) throw new Error("Enter at least one label.");
    const body = {
      model: $("#zero-shot-model", section).value,
      input: text,
      candidate_labels: labels,
      multi_label: $("#zero-shot-multi", section).checked,
    };
    const template = $("#zero-shot-template", section).value.trim();
    if (template) body.hypothesis_template = template;
    const reply = await postJson("/v1/zero-shot", body);
    const [first] = reply.data;
    result.replaceChildren(
      el("p", {}, "Predicted: ", el("b", { class: "predicted" }, first.label)),
      el("div", { class: "bars" }, ...first.labels.map((item) => bar(item.label, item.score))),
    );
  });
}
