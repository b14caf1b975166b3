"""Seeded, distinct English-like sentences of a bounded word count (the encoder inputs)."""

from __future__ import annotations

import random

# Names and places give the NER model entities to find; the rest is everyday vocabulary.
_NAMES = """Alice Bob Carol David Emma Frank Grace Henry Irene James Karen Louis Maria Noah Olivia
Peter Quinn Rosa Samuel Tina Umar Vera Walter Yusuf Zoe"""
_PLACES = """Paris London Berlin Madrid Rome Vienna Prague Lisbon Dublin Oslo Tokyo Seoul Cairo Lima
Boston Chicago Denver Toronto Sydney Mumbai"""
_ORGS = "Google Microsoft Siemens Toyota Nestle Airbus Reuters UNESCO Oxford Stanford"
_WORDS = """the a an this that every some many few our their his her its my your
man woman child team city company market report river bridge garden house street school
teacher doctor engineer artist student manager driver farmer writer player scientist
book letter song film movie story idea plan project problem answer question result
morning evening night week month year season winter summer spring autumn day
walks runs builds writes reads finds opens closes sells buys makes takes gives shows
loves hates likes wants needs helps calls meets visits leaves joins starts stops
quickly slowly quietly loudly happily sadly carefully easily rarely often always never
good bad new old big small long short high low early late happy sad bright dark
green red blue yellow quiet loud cheap expensive simple difficult strong weak warm cold
in on at with from into over under after before during without about near behind
and but or because while although since until so then also very really still just"""


def _split(words: str) -> tuple[str, ...]:
    return tuple(words.split())


NAMES, PLACES, ORGS, WORDS = _split(_NAMES), _split(_PLACES), _split(_ORGS), _split(_WORDS)


def sentence(rng: random.Random, words: int) -> str:
    """One sentence of exactly ``words`` words: capitalised, with a full stop."""
    picked: list[str] = []
    for _ in range(words):
        roll = rng.random()
        if roll < 0.06:
            picked.append(rng.choice(NAMES))
        elif roll < 0.10:
            picked.append(rng.choice(PLACES))
        elif roll < 0.12:
            picked.append(rng.choice(ORGS))
        else:
            picked.append(rng.choice(WORDS))
    picked[0] = picked[0][:1].upper() + picked[0][1:]
    return " ".join(picked) + "."


def sentences(count: int, seed: int = 0, min_words: int = 10, max_words: int = 30) -> list[str]:
    """``count`` distinct sentences of ``min_words``..``max_words`` words, same for a seed."""
    if count < 0 or not 1 <= min_words <= max_words:
        raise ValueError("need count >= 0 and 1 <= min_words <= max_words")
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        text = sentence(rng, rng.randint(min_words, max_words))
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out
