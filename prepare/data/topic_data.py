"""Seeded generator of topic-labelled sentences, turned into NLI pairs for zero-shot
classification: (text, "This example is {label}.") is entailment for the text's topic and
contradiction for another topic.

Topics are split: the test topics' labels never occur in training (and neither do the
everyday labels of the hand-written set, ``zero_shot.handwritten.jsonl``: news sections and
product kinds), and the last sentence frames are held out for the test split too.

Nothing is written to disk: ``build_topic_pairs(split)`` returns the same rows on every call.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SEED = 20261207


@dataclass(frozen=True)
class Topic:
    """Label names (any of them may stand in the hypothesis) and phrases about the topic."""

    labels: tuple[str, ...]
    phrases: tuple[str, ...]


TRAIN_TOPICS = (
    Topic(
        ("astronomy", "space", "the night sky"),
        (
            "the rings of Saturn",
            "a new telescope",
            "a comet passing the Earth",
            "the phases of the moon",
            "a distant galaxy",
            "a meteor shower",
            "the eclipse",
            "the astronauts on the space station",
            "a planet around another star",
        ),
    ),
    Topic(
        ("gardening", "plants", "flowers"),
        (
            "planting tomato seedlings",
            "pruning the rose bushes",
            "the compost heap",
            "weeding the vegetable patch",
            "tulip bulbs",
            "watering the lawn",
            "a greenhouse full of herbs",
            "the apple tree in the backyard",
        ),
    ),
    Topic(
        ("pets", "animals", "dogs and cats"),
        (
            "a puppy that chews slippers",
            "the cat's litter box",
            "walking the dog",
            "a hamster in its cage",
            "a trip to the vet",
            "feeding the goldfish",
            "a parrot that can talk",
            "adopting a kitten from the shelter",
        ),
    ),
    Topic(
        ("cooking", "recipes", "meals"),
        (
            "a recipe for onion soup",
            "simmering the tomato sauce",
            "baking bread at home",
            "chopping garlic and herbs",
            "a pinch of salt in the pan",
            "roasting a chicken",
            "the secret to fluffy pancakes",
            "a pot of rice on the stove",
        ),
    ),
    Topic(
        ("money", "personal finance", "banking"),
        (
            "the interest rate on a savings account",
            "paying off a mortgage",
            "the monthly household budget",
            "a loan from the bank",
            "saving for retirement",
            "the credit card bill",
            "stocks and bonds",
            "filing the tax return",
        ),
    ),
    Topic(
        ("crime", "law", "the courts"),
        (
            "the judge reading the verdict",
            "a burglar caught by the police",
            "the jury",
            "a lawyer for the defence",
            "the trial of a bank robber",
            "a stolen car",
            "witnesses in the courtroom",
            "a new law against fraud",
        ),
    ),
    Topic(
        ("music", "songs", "concerts"),
        (
            "the band's new album",
            "a guitar solo",
            "the orchestra's last concert",
            "a choir singing carols",
            "the drummer of the band",
            "a catchy chorus",
            "tickets for the rock festival",
            "learning to play the violin",
        ),
    ),
    Topic(
        ("cars", "driving", "motoring"),
        (
            "changing a flat tyre",
            "the engine of a sports car",
            "fuel prices at the pump",
            "a driving test",
            "the brakes of the old van",
            "traffic on the motorway",
            "a used car dealer",
            "parking in the city centre",
        ),
    ),
    Topic(
        ("education", "school", "learning"),
        (
            "the maths homework",
            "the teacher and her pupils",
            "final exams",
            "a new timetable for the classroom",
            "university tuition fees",
            "students in the lecture hall",
            "learning to read",
            "the school library",
        ),
    ),
    Topic(
        ("religion", "faith", "the church"),
        (
            "the Sunday service",
            "a prayer before dinner",
            "the priest's sermon",
            "the holy book",
            "a pilgrimage to a shrine",
            "the bells of the cathedral",
            "a religious festival",
            "the monks of the monastery",
        ),
    ),
    Topic(
        ("farming", "agriculture", "the countryside"),
        (
            "the wheat harvest",
            "cows in the milking shed",
            "a tractor ploughing the field",
            "sheep on the hills",
            "the price of fertiliser",
            "a barn full of hay",
            "the farmer's crops",
            "chickens laying eggs",
        ),
    ),
    Topic(
        ("war", "the military", "the army"),
        (
            "soldiers at the border",
            "a battle in the hills",
            "the navy's warships",
            "a ceasefire between the armies",
            "fighter jets",
            "the general's orders",
            "tanks rolling into the town",
            "veterans of the war",
        ),
    ),
    Topic(
        ("housing", "real estate", "homes"),
        (
            "the rent for a small flat",
            "a house for sale",
            "the estate agent",
            "a new block of apartments",
            "house prices in the suburbs",
            "moving into a flat",
            "the landlord and the tenants",
            "a mortgage for a first home",
        ),
    ),
    Topic(
        ("family", "parenting", "children"),
        (
            "a toddler's first steps",
            "bedtime stories for the kids",
            "the baby's nappies",
            "grandparents visiting",
            "a family dinner",
            "teenagers and their phones",
            "a school run in the morning",
            "raising twins",
        ),
    ),
    Topic(
        ("fashion", "style", "what to wear"),
        (
            "the new spring collection",
            "a designer dress",
            "models on the catwalk",
            "high heels and handbags",
            "the colours of the season",
            "a tailored suit",
            "a trendy pair of sunglasses",
            "the fashion week in Paris",
        ),
    ),
    Topic(
        ("art", "painting", "galleries"),
        (
            "an exhibition of oil paintings",
            "the sculptor's studio",
            "a portrait",
            "the gallery's new show",
            "watercolours of the coast",
            "a famous painter",
            "brushes and an easel",
            "modern art at the museum",
        ),
    ),
    Topic(
        ("the environment", "nature", "climate"),
        (
            "plastic in the ocean",
            "cutting down the rainforest",
            "recycling bottles",
            "air pollution in the city",
            "endangered species",
            "melting glaciers",
            "planting trees",
            "carbon emissions",
        ),
    ),
    Topic(
        ("shoes", "footwear"),
        (
            "a pair of leather boots",
            "sandals for the beach",
            "trainers with thick soles",
            "slippers",
            "the shoe size",
            "hiking boots",
            "new laces for the sneakers",
        ),
    ),
    Topic(
        ("bicycles", "cycling"),
        (
            "the bike's gears",
            "a cycling helmet",
            "pumping up the tyres of the bike",
            "a mountain bike",
            "the bicycle lane",
            "a ride to work on two wheels",
            "a bike with a basket",
        ),
    ),
    Topic(
        ("perfume", "fragrance", "beauty"),
        (
            "a bottle of perfume",
            "the scent of lavender",
            "a new lipstick",
            "face cream",
            "nail polish",
            "a fragrance with notes of vanilla",
            "shampoo",
        ),
    ),
    Topic(
        ("tools", "hardware", "DIY"),
        (
            "a hammer and nails",
            "an electric drill",
            "a set of screwdrivers",
            "sanding a wooden shelf",
            "a toolbox",
            "fixing a leaking tap",
            "a saw",
        ),
    ),
    Topic(
        ("games", "gaming", "video games"),
        (
            "a new level of the game",
            "the game console",
            "online players",
            "a board game night",
            "the final boss",
            "a chess match",
            "playing cards",
        ),
    ),
)

# Held-out topics: their labels are never in training.
TEST_TOPICS = (
    Topic(
        ("fishing",),
        ("a trout on the line", "the fishing rod", "bait and hooks", "a boat on the lake"),
    ),
    Topic(
        ("weddings",),
        ("the bride and groom", "a wedding cake", "the wedding rings", "the best man's speech"),
    ),
    Topic(
        ("aviation",),
        ("the pilot in the cockpit", "a plane taking off", "the airport runway", "jet engines"),
    ),
    Topic(
        ("medicine",),
        ("the doctor's prescription", "a vaccine", "a patient in hospital", "surgery"),
    ),
    Topic(
        ("history",),
        ("the ancient Romans", "a medieval castle", "the kings of old", "an old battle"),
    ),
    Topic(
        ("furniture",),
        ("a wooden dining table", "a comfortable sofa", "the bookshelf", "a new wardrobe"),
    ),
)

FRAMES = (
    "Yesterday I read a long article about {}.",
    "Everyone at work was talking about {} today.",
    "The programme last night was all about {}.",
    "My brother spent the whole weekend on {}.",
    "She wrote a blog post about {}.",
    "There was a lot of news about {} this week.",
    "We had a long discussion about {} over dinner.",
    "The magazine has a special issue on {}.",
    "He asked me a question about {}.",
    "I watched a short video about {}.",
    "The town council talked about {} at the meeting.",
    "Our neighbour told us about {}.",
    "The podcast this morning covered {}.",
    "Have you heard anything new about {}?",
    "Nothing interests him more than {}.",
    # held out for the test split
    "Last month the local paper ran a story on {}.",
    "I found a book in the library about {}.",
    "The children asked their teacher about {}.",
)
HELD_OUT_FRAMES = 3
HYPOTHESES = (
    "This example is {}.",
    "This text is about {}.",
    "The topic is {}.",
    "This is about {}.",
)


def _text(rng: random.Random, topic: Topic, frames: tuple[str, ...]) -> str:
    first, second = rng.sample(topic.phrases, 2)
    text = rng.choice(frames).format(first)
    if rng.random() < 0.5:
        more = rng.choice(frames).format(second)
        joiner = rng.choice(["Then", "Later", "After that", "Also,"])
        text += f" {joiner} {more[0].lower()}{more[1:]}"
    return text


def build_topic_pairs(split: str, size: int) -> list[dict[str, object]]:
    """``size`` NLI rows {"premise", "hypothesis", "label"} (entailment/contradiction)."""
    rng = random.Random(f"{SEED}-{split}")
    topics = TEST_TOPICS if split == "test" else TRAIN_TOPICS
    frames = FRAMES[-HELD_OUT_FRAMES:] if split == "test" else FRAMES[:-HELD_OUT_FRAMES]
    rows: list[dict[str, object]] = []
    while len(rows) < size:
        topic = rng.choice(topics)
        text = _text(rng, topic, frames)
        other = rng.choice([t for t in topics if t is not topic])
        template = HYPOTHESES[0] if split == "test" else rng.choice(HYPOTHESES)
        for label, name in ((topic, "entailment"), (other, "contradiction")):
            rows.append(
                {
                    "premise": text,
                    "hypothesis": template.format(rng.choice(label.labels)),
                    "label": name,
                }
            )
    return rows[:size]


def build_topic_test(size: int) -> list[dict[str, object]]:
    """``size`` held-out rows {"text", "candidate_labels", "label"}: unseen topics, frames."""
    rng = random.Random(f"{SEED}-zero-shot-test")
    frames = FRAMES[-HELD_OUT_FRAMES:]
    labels = [t.labels[0] for t in TEST_TOPICS]
    rows: list[dict[str, object]] = []
    for _ in range(size):
        topic = rng.choice(TEST_TOPICS)
        rows.append(
            {
                "text": _text(rng, topic, frames),
                "candidate_labels": labels,
                "label": topic.labels[0],
            }
        )
    return rows
