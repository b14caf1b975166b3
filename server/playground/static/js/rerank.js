// Rerank: a query and documents -> /v1/rerank -> the documents best first, with their scores.

import { postJson } from "./api.js";
import { $, bindForm, el, lines } from "./dom.js";

export function initRerank(section) {
  const result = $("#rerank-result", section);
  bindForm($("#rerank-form", section), $("#rerank-error", section), async () => {
    const query = $("#rerank-query", section).value.trim();
    const documents = lines($("#rerank-docs", section).value);
    if (!query || documents.length === 0) throw new Error("Enter a query and documents.");
    const reply = await postJson("/v1/rerank", {
      model: $("#rerank-model", section).value,
      query,
      documents,
      return_documents: true,
    });
    const ranked = [...reply.results].sort((a, b) => b.relevance_score - a.relevance_score);
    const top = Math.max(...ranked.map((item) => Math.abs(item.relevance_score)), 1e-9);
    result.replaceChildren(
      ...ranked.map((item) =>
        el(
          "li",
          { "data-index": item.index, "data-score": item.relevance_score },
          el("span", { class: "score" }, item.relevance_score.toFixed(4)),
          el("span", { class: "doc" }, item.document ? item.document.text : documents[item.index]),
          el(
            "div",
            { class: "bar" },
            el("div", {
              class: "fill",
              style: { width: `${(100 * Math.max(0, item.relevance_score)) / top}%` },
            }),
          ),
        ),
      ),
    );
  });
}
