// Fill-mask: a text with mask tokens -> /v1/fill-mask -> for each mask, the likeliest tokens
// with their scores and the text they make. A text without the model's mask token gets the
// server's 400, which names that token.

import { postJson } from "./api.js";
import { $, bindForm, el } from "./dom.js";

function candidate(item) {
  return el(
    "li",
    { "data-token": item.token, "data-score": item.score },
    el("span", { class: "score" }, item.score.toFixed(4)),
    el("b", { class: "token" }, item.token_str),
    el(
      "div",
      { class: "bar" },
      el("div", { class: "fill", style: { width: `${100 * item.score}%` } }),
    ),
    el("span", { class: "sequence muted" }, item.sequence),
  );
}

export function initFillMask(section) {
  const result = $("#fill-mask-result", section);
  bindForm($("#fill-mask-form", section), $("#fill-mask-error", section), async () => {
    const text = $("#fill-mask-input", section).value;
    if (!text.trim()) throw new Error("Enter a text with a mask token.");
    const reply = await postJson("/v1/fill-mask", {
      model: $("#fill-mask-model", section).value,
      input: text,
      top_k: Number($("#fill-mask-top-k", section).value) || 5,
    });
    const { masks } = reply.data[0];
    result.replaceChildren(
      ...masks.map((candidates, index) =>
        el(
          "div",
          { class: "mask-group", "data-mask": index },
          masks.length > 1 ? el("h3", {}, `Mask ${index + 1}`) : null,
          el("ol", { class: "ranking candidates" }, ...candidates.map(candidate)),
        ),
      ),
    );
  });
}
