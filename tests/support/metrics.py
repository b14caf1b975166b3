"""Reading one sample out of a Prometheus exposition: the suite's one metrics parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

_SAMPLE_SUFFIXES = ("", "_total", "_count", "_sum", "_bucket")


def metric_value(text: str, name: str, **labels: str) -> float:
    """The sample ``name`` with ``labels`` (a subset of its labels) in ``text``.

    A declared metric without that sample yet is 0 (a counter before its first increment);
    a name no metric declares raises ``AssertionError``, so that a typo cannot pass as 0.
    """
    declared = False
    for family in text_string_to_metric_families(text):
        if name not in {family.name + suffix for suffix in _SAMPLE_SUFFIXES}:
            continue
        declared = True
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    if not declared:
        raise AssertionError(f"no metric declares {name}")
    return 0.0
