"""Seeded generator for the committed fine-tuning data files.

The JSON Lines files next to this script are the source of truth and are
committed; this script only documents how they were produced.  Re-running it
rewrites them byte for byte (fixed seed, no external input)::

    python server/prepare/data/generate.py

Held-out rows use different slot fillers (brands, restaurants, people,
companies, places, ...) and a few held-out templates and opinion phrases, so
the held-out score measures generalisation rather than memorisation.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SEED = 20240611
DATA_DIR = Path(__file__).resolve().parent

# --------------------------------------------------------------------------
# Sentiment
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """Something a review can be about; `kind` picks the fitting phrases."""

    phrase: str
    kind: str


def _subjects(kind: str, phrases: Sequence[str]) -> list[Subject]:
    return [Subject(p, kind) for p in phrases]


TRAIN_SUBJECTS: list[Subject] = [
    *_subjects(
        "product",
        [
            "the Lumio wireless headphones",
            "this Vexa blender",
            "the Nordkap backpack",
            "my new Corvell laptop",
            "the Brightway coffee maker",
            "this Tessaro phone case",
            "the Kinetix running shoes",
            "the Aurex desk lamp",
            "this Solano rice cooker",
            "the Halvard office chair",
        ],
    ),
    *_subjects(
        "restaurant",
        [
            "Bella Notte",
            "the Golden Wok",
            "Café Lumière",
            "the taco truck on Fifth Street",
            "Sakura Sushi Bar",
            "the new bakery downtown",
            "Mama Rosa's",
            "the Green Fork",
        ],
    ),
    *_subjects(
        "movie",
        [
            "Starfall",
            "The Quiet Harbor",
            "Echoes of Tomorrow",
            "Paper Moons",
            "The Last Orchard",
            "the new superhero sequel",
        ],
    ),
    *_subjects(
        "service",
        [
            "the airline",
            "customer support",
            "the plumber",
            "the hotel staff",
            "the delivery service",
            "the bank's helpline",
            "the car rental agency",
            "the internet provider",
        ],
    ),
]

TEST_SUBJECTS: list[Subject] = [
    *_subjects(
        "product",
        [
            "the Zentra vacuum cleaner",
            "this Mavik smartwatch",
            "the Orlen electric kettle",
            "the Pixley tablet",
            "this Dunmore rain jacket",
        ],
    ),
    *_subjects(
        "restaurant",
        [
            "Trattoria Verde",
            "the Blue Lotus",
            "Le Petit Jardin",
            "the noodle shop near the station",
            "Casa Miguel",
        ],
    ),
    *_subjects(
        "movie",
        ["Silver Lining Road", "The Glass Kingdom", "Northern Lights", "the animated remake"],
    ),
    *_subjects(
        "service",
        ["the taxi driver", "the cleaning service", "the gym", "the pharmacy", "the travel agent"],
    ),
]

# Opinion phrases per kind.  Every fourth phrase is held out for the test split.
POSITIVE_ASPECTS: dict[str, list[str]] = {
    "product": [
        "the battery lasts all day",
        "it feels really solid",
        "setup took two minutes",
        "it was worth every penny",
        "the sound is crisp and clear",
        "it works perfectly",
        "the design is beautiful",
        "it is so easy to use",
    ],
    "restaurant": [
        "the food was delicious",
        "the staff were so friendly",
        "the pasta was perfectly cooked",
        "the desserts are heavenly",
        "the portions were generous",
        "the atmosphere was lovely",
        "every dish was full of flavour",
        "the service was quick and warm",
    ],
    "movie": [
        "the acting was superb",
        "the story kept me hooked",
        "the soundtrack is gorgeous",
        "it was funny and moving",
        "the ending was brilliant",
        "the visuals are stunning",
        "the cast is wonderful",
        "I was smiling the whole time",
    ],
    "service": [
        "they solved my problem in minutes",
        "everyone was helpful and polite",
        "they went above and beyond",
        "the whole process was smooth",
        "they arrived right on time",
        "the staff were genuinely kind",
        "they kept me informed at every step",
        "it could not have been easier",
    ],
}

NEGATIVE_ASPECTS: dict[str, list[str]] = {
    "product": [
        "it broke after a week",
        "the battery dies within hours",
        "it feels cheap and flimsy",
        "it is a total waste of money",
        "it stopped working on day three",
        "the instructions were useless",
        "it overheats constantly",
        "the buttons already fell off",
    ],
    "restaurant": [
        "the food was cold and bland",
        "we waited an hour for our order",
        "the waiter was incredibly rude",
        "my soup was inedible",
        "the place was filthy",
        "the prices are outrageous for tiny portions",
        "the chicken was undercooked",
        "the music was so loud we could not talk",
    ],
    "movie": [
        "the plot made no sense",
        "the acting was wooden",
        "it was painfully boring",
        "the dialogue was awful",
        "I nearly fell asleep",
        "the ending was a mess",
        "it dragged on forever",
        "the jokes all fell flat",
    ],
    "service": [
        "nobody answered my calls",
        "they lost my booking",
        "they were late and unapologetic",
        "the staff were dismissive",
        "they charged me twice",
        "I was kept on hold for an hour",
        "they never refunded my money",
        "the manager simply hung up on me",
    ],
}

POSITIVE_TEMPLATES = [
    "I absolutely love {s}, {pos}.",
    "{S} is fantastic: {pos}.",
    "Highly recommend {s}. {Pos}!",
    "Five stars for {s}, {pos}.",
    "Really impressed with {s}; {pos}.",
    "{S} made my day, {pos}.",
    "Best experience I've had in ages with {s}. {Pos}.",
    "Wow, {s} is great. {Pos}.",
    "So happy I chose {s}, {pos}!",
    "Can't say enough good things about {s}: {pos}.",
    # held out (test only)
    "{S} was a delight from start to finish; {pos}.",
    "Ten out of ten for {s}. {Pos}.",
]
NEGATIVE_TEMPLATES = [
    "I really regret choosing {s}, {neg}.",
    "{S} was a huge disappointment: {neg}.",
    "Avoid {s} at all costs. {Neg}.",
    "One star for {s}, {neg}.",
    "Never again with {s}; {neg}.",
    "Terribly let down by {s}. {Neg}.",
    "{S} ruined my evening, {neg}.",
    "So frustrated with {s}. {Neg}!",
    "Do not waste your time on {s}: {neg}.",
    "Worst experience I've had with {s}, {neg}.",
    # held out (test only)
    "{S} was a nightmare; {neg}.",
    "Zero stars if I could for {s}. {Neg}.",
]
MIXED_TEMPLATES = [
    "{S} has its ups and downs: {pos}, but {neg}.",
    "With {s}, {pos}, although {neg}.",
    "{S} is okay, I guess. {Pos}, but {neg}.",
    "Mixed feelings about {s}: {pos}, yet {neg}.",
    "{S} is neither great nor terrible; {neg}, but {pos}.",
    "On the one hand {pos}; on the other, {neg}. That's {s} for you.",
    # held out (test only)
    "{S} is a bit of a mixed bag: {pos}, however {neg}.",
]
HELD_OUT_TEMPLATES = 2  # the last N positive/negative templates (1 for mixed)

FACTUAL_TEMPLATES: dict[str, list[str]] = {
    "product": [
        "{S} comes in black, white and grey.",
        "I ordered {s} on Monday and it arrived on Thursday.",
        "{S} weighs about 300 grams.",
        "The box for {s} includes a charger and a manual.",
        "{S} is currently on sale for 49 dollars.",
        "My brother also has {s}.",
        "I returned {s} to exchange it for a different size.",
    ],
    "restaurant": [
        "{S} opens at noon on weekdays.",
        "We had dinner at {s} on Saturday.",
        "{S} is located next to the post office.",
        "You can book a table at {s} by phone.",
        "{S} has about twenty tables and a small terrace.",
        "My colleagues went to {s} for lunch today.",
        "{S} changed its menu in the spring.",
    ],
    "movie": [
        "{S} runs for about two hours.",
        "I watched {s} with my cousin last night.",
        "{S} was released in March.",
        "{S} is based on a novel.",
        "{S} is showing at the cinema until Sunday.",
        "The director of {s} also wrote the script.",
        "{S} is available to stream from next week.",
    ],
    "service": [
        "I called {s} on Tuesday morning.",
        "{S} is open from 8 am to 6 pm.",
        "I have an appointment with {s} next week.",
        "{S} sent me a confirmation email.",
        "I used {s} for the first time yesterday.",
        "{S} asked me to fill in a form.",
        "{S} is closed on public holidays.",
    ],
}

EVERYDAY: dict[str, list[str]] = {
    "positive": [
        "What a beautiful morning, I feel fantastic!",
        "I finally passed my driving test and I'm so happy.",
        "My friends threw me a surprise party and I loved every minute.",
        "The kids had a wonderful time at the park today.",
        "Got the promotion, best week ever!",
        "This weather is perfect for a picnic.",
        "I'm thrilled with how the garden turned out this year.",
        "Our weekend at the coast was absolutely lovely.",
        "The concert last night was amazing.",
        "I slept really well and feel completely refreshed.",
        "My grandmother's cake is the best thing I've ever tasted.",
        "Such a relief, the test results came back fine.",
        "We adopted a puppy and the whole family is overjoyed.",
        "The new park in our neighbourhood is gorgeous.",
        "I'm so grateful for my wonderful colleagues.",
        "That hike was breathtaking, I'd do it again tomorrow.",
        "Finally finished the marathon and I feel incredible!",
        "Dinner with old friends tonight was pure joy.",
        "My sister's wedding was the happiest day of the year.",
        "I love how calm and peaceful the lake is in the evening.",
        "Today went better than I could have hoped.",
        "The kindness of strangers really made my day.",
        "Our team won the final and everyone is celebrating!",
        "I'm delighted with my exam results.",
        "Fresh snow, hot chocolate and a good book: perfect.",
    ],
    "negative": [
        "I missed the bus again and got soaked in the rain.",
        "Traffic was horrible and I was late for work.",
        "I feel awful, this cold just won't go away.",
        "The neighbours were loud all night and I couldn't sleep.",
        "My laptop crashed and I lost a whole day of work.",
        "What a miserable, grey and depressing day.",
        "I'm so tired of these endless meetings.",
        "Our holiday was cancelled and we lost the deposit.",
        "The heating broke in the middle of winter, great, just great.",
        "I burned dinner and set off the smoke alarm.",
        "My flight was delayed six hours and nobody told us why.",
        "I'm heartbroken that the old bookshop is closing.",
        "The exam was a disaster and I'm really upset.",
        "Someone scratched my car in the car park.",
        "I've had a terrible headache all afternoon.",
        "The noise from the construction site is unbearable.",
        "I hate waiting in these endless queues.",
        "Our team lost again, what an embarrassing performance.",
        "The apartment we viewed was damp, dark and overpriced.",
        "Everything went wrong today and I'm exhausted.",
        "I'm furious that the bank froze my account without warning.",
        "My phone fell in the sink and now it's dead.",
        "This week has been stressful and exhausting.",
        "The beach was covered in litter, so disappointing.",
        "I got stuck in the lift for an hour, it was awful.",
    ],
    "neutral": [
        "The meeting has been moved to 3 pm.",
        "I need to buy milk and eggs on the way home.",
        "The train to the airport leaves every twenty minutes.",
        "It rained a little in the afternoon.",
        "My sister lives two streets away from me.",
        "The library is on the second floor of the building.",
        "We usually have dinner around seven.",
        "The package should arrive sometime tomorrow.",
        "He works as an accountant in a small firm.",
        "The store closes at nine on Saturdays.",
        "I have a dentist appointment on Thursday.",
        "There are twelve months in a year.",
        "The report is due at the end of the month.",
        "She takes the tram to work most days.",
        "The kettle is in the cupboard next to the sink.",
        "The bridge is being painted this week.",
        "Our office moved to the fourth floor.",
        "The recipe calls for two cups of flour.",
        "The museum is closed on Mondays.",
        "I switched my phone plan last month.",
        "The forecast says it will be cloudy tomorrow.",
        "The school holidays start next Friday.",
        "He parked the car in front of the house.",
        "The form asks for your address and date of birth.",
        "We have a team call every Wednesday morning.",
    ],
}

SENTIMENT_PER_CLASS = 200
SENTIMENT_TEST_FRACTION = 0.2


def _split_held_out(items: Sequence[str], every: int = 4) -> tuple[list[str], list[str]]:
    """Split a phrase list so that every `every`-th phrase is test-only."""
    train = [x for i, x in enumerate(items) if i % every != every - 1]
    test = [x for i, x in enumerate(items) if i % every == every - 1]
    return train, test


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _render_review(template: str, subject: Subject, pos: str = "", neg: str = "") -> str:
    return template.format(
        s=subject.phrase, S=_cap(subject.phrase), pos=pos, Pos=_cap(pos), neg=neg, Neg=_cap(neg)
    )


def _sentiment_rows(rng: random.Random, split: str, count: int) -> list[dict[str, str]]:
    """Sample `count` templated reviews per class for one split."""
    is_test = split == "test"
    subjects = TEST_SUBJECTS if is_test else TRAIN_SUBJECTS

    def template(templates: list[str], held: int) -> str:
        # Test rows may use the held-out templates as well as the training ones.
        return rng.choice(templates if is_test else templates[:-held])

    def phrase(table: dict[str, list[str]], kind: str) -> str:
        train, test = _split_held_out(table[kind])
        if not is_test:
            return rng.choice(train)
        # Prefer unseen opinion phrases, but keep some familiar ones too.
        return rng.choice(test if rng.random() < 0.6 else train + test)

    def make(label: str, s: Subject) -> str:
        if label == "positive":
            return _render_review(
                template(POSITIVE_TEMPLATES, HELD_OUT_TEMPLATES),
                s,
                pos=phrase(POSITIVE_ASPECTS, s.kind),
            )
        if label == "negative":
            return _render_review(
                template(NEGATIVE_TEMPLATES, HELD_OUT_TEMPLATES),
                s,
                neg=phrase(NEGATIVE_ASPECTS, s.kind),
            )
        if rng.random() < 0.4:  # neutral: mixed opinions ...
            return _render_review(
                template(MIXED_TEMPLATES, 1),
                s,
                pos=phrase(POSITIVE_ASPECTS, s.kind),
                neg=phrase(NEGATIVE_ASPECTS, s.kind),
            )
        return _render_review(rng.choice(FACTUAL_TEMPLATES[s.kind]), s)  # ... or plain facts

    rows: list[dict[str, str]] = []
    for label in ("positive", "negative", "neutral"):
        seen: set[str] = set()
        while len(seen) < count:
            text = make(label, rng.choice(subjects))
            if text not in seen:
                seen.add(text)
                rows.append({"text": text, "label": label})
    return rows


def build_sentiment(rng: random.Random) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Return (train, test) sentiment rows, balanced over the three labels."""
    train: list[dict[str, str]] = []
    test: list[dict[str, str]] = []
    for label, sentences in EVERYDAY.items():
        shuffled = list(sentences)
        rng.shuffle(shuffled)
        n_test = round(len(shuffled) * SENTIMENT_TEST_FRACTION)
        test += [{"text": t, "label": label} for t in shuffled[:n_test]]
        train += [{"text": t, "label": label} for t in shuffled[n_test:]]
    n_everyday = len(EVERYDAY["positive"])
    n_test_total = round(SENTIMENT_PER_CLASS * SENTIMENT_TEST_FRACTION)
    n_test_everyday = round(n_everyday * SENTIMENT_TEST_FRACTION)
    train += _sentiment_rows(
        rng, "train", SENTIMENT_PER_CLASS - n_test_total - (n_everyday - n_test_everyday)
    )
    test += _sentiment_rows(rng, "test", n_test_total - n_test_everyday)
    rng.shuffle(train)
    rng.shuffle(test)
    return train, test


# --------------------------------------------------------------------------
# NER
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class NerVocab:
    """Slot fillers for one split."""

    first: list[str]
    last: list[str]
    org: list[str]
    loc: list[str]
    nat: list[str]
    lang: list[str]
    event: list[str]
    prod: list[str]


# Long filler lists are kept dense on purpose.
# fmt: off
NER_TRAIN_VOCAB = NerVocab(
    first=[
        "José", "Anna", "Michael", "Fatima", "Björn", "Chloé", "Hiroshi", "Priya", "Liam",
        "Zoë", "Mateo", "Olga", "Kwame", "Ingrid", "Sebastián", "Aisha", "Lukas", "Mei",
        "Tomás", "Grace", "Ahmed", "Sophie", "Carlos", "Yuki", "Emma", "Dmitri", "Aaliyah",
        "Henrik", "Lucía", "Oluwaseun", "Margarethe", "Pierre", "Wei", "Astrid", "Rafael",
        "Noémie", "Ignacio", "Thandiwe", "Katarzyna", "Hamid", "Brigitte", "Jack", "Ravi",
        "Camille", "Gustav", "Leila", "Nikolai", "Ximena",
    ],
    last=[
        "García", "Müller", "O'Brien", "Nakamura", "Kowalski", "Dubois", "Okafor",
        "Lindqvist", "Rossi", "Novak", "Fernández", "Schmidt", "Patel", "Haddad", "Jensen",
        "Costa", "Ødegaard", "Nguyen", "Smith", "Ivanova", "Johansson", "Papadopoulos",
        "Kim", "D'Souza", "Schäfer", "Al-Hassan", "Wójcik", "Thompson", "Bianchi",
        "Fitzgerald", "Zhang", "Adeyemi", "Horváth", "Lefèvre", "Suzuki", "Kristjánsdóttir",
        "McAllister", "Goldberg", "Núñez", "Van Dijk", "Oyelaran", "Virtanen",
    ],
    org=[
        "Siemens", "Toyota", "Nestlé", "Deutsche Bank", "Google", "Microsoft", "Unilever",
        "Airbus", "Samsung", "Reuters", "Volkswagen", "UNICEF", "Heineken", "IKEA",
        "Barclays", "Northwind Traders", "Acme Corp", "Goldman Sachs", "Johnson & Johnson",
        "Marks & Spencer", "AT&T", "McDonald's", "General Motors", "Bank of America",
        "Hyundai", "Carrefour", "Adidas", "BASF", "Pfizer", "World Bank", "Tata Motors",
        "Alibaba", "Danone", "Boeing", "Credit Suisse", "Greenpeace", "Zalando",
        "Petrobras", "Rio Tinto", "Atlas Logistics", "Bosch", "Roche", "Aldi",
        "Standard Chartered",
    ],
    loc=[
        "Zürich", "Paris", "Berlin", "Tokyo", "São Paulo", "Kraków", "Madrid", "Nairobi",
        "Toronto", "Mumbai", "Cairo", "Oslo", "Germany", "Brazil", "Japan", "Canada",
        "Kenya", "Italy", "Mexico", "New York", "Buenos Aires", "Hong Kong",
        "Rio de Janeiro", "San Francisco", "Tel Aviv", "Kuala Lumpur", "New Zealand",
        "South Africa", "Saudi Arabia", "Marseille", "Göteborg", "Bogotá", "Hamburg",
        "Ireland", "Egypt", "India", "Peru", "Manchester", "Dubai", "Helsinki",
        "Amsterdam", "Jakarta", "Ghana", "Poland", "Singapore", "Florence", "Valparaíso",
    ],
    nat=[
        "German", "French", "Brazilian", "Japanese", "Italian", "Canadian", "Polish",
        "Kenyan", "Egyptian", "Australian", "Swiss", "Irish", "Indian", "Peruvian",
        "Nigerian", "Swedish", "American", "Chinese", "Danish", "Vietnamese",
    ],
    lang=[
        "English", "Portuguese", "Mandarin", "Arabic", "Swahili", "Mexican Spanish",
        "Bengali", "Italian", "Japanese", "Cantonese", "Hebrew", "Polish", "Tagalog",
    ],
    event=[
        "World Cup", "Olympics", "Oktoberfest", "Champions League", "Super Bowl",
        "Cannes Film Festival", "Paralympics", "Venice Biennale", "Boston Marathon",
        "Oscars", "Diwali", "Ramadan", "Chinese New Year", "World Economic Forum",
        "Women's World Cup", "Ryder Cup",
    ],
    prod=[
        "iPhone", "PlayStation", "Kindle", "Galaxy Note", "Walkman", "Model S", "iPad",
        "Game Boy", "Pixel 8", "Corolla", "Roomba", "GoPro", "Surface Pro", "Polaroid",
    ],
)

NER_TEST_VOCAB = NerVocab(
    first=[
        "François", "Søren", "Łukasz", "Amélie", "Rahul", "Elena", "Jürgen", "Nadia", "Kenji",
        "Siobhan", "Diego", "Yasmin", "Mohammed", "Olivia", "Chidi", "Ines", "Raúl", "Hana",
        "Bartholomew", "Anneliese", "Thiago", "Svetlana",
    ],
    last=[
        "Dvořák", "Çelik", "Ibáñez", "MacLeod", "Yamamoto", "Andersson", "Moreau", "Mensah",
        "Kaur", "Petrović", "Brennan", "D'Angelo", "Hoffmann", "Eriksen", "Oliveira",
        "Kovács", "Chen", "Nowak", "O'Connor", "Abubakar",
    ],
    org=[
        "Renault", "Philips", "Sony", "Novartis", "Spotify", "Ericsson", "L'Oréal",
        "Procter & Gamble", "Lufthansa", "Banco Santander", "Oxfam", "Nokia", "Ferrari",
        "Hewlett-Packard", "Morgan Stanley", "Vodafone", "Carlsberg", "Air France",
        "Tesco", "Emirates",
    ],
    loc=[
        "Düsseldorf", "Montréal", "Reykjavík", "Málaga", "Lisbon", "Seoul", "Lagos",
        "Vienna", "Chile", "Sweden", "Portugal", "Vietnam", "Cape Town", "Kyoto", "Istanbul",
        "Los Angeles", "Ho Chi Minh City", "Morocco", "Edinburgh", "Québec", "Perth",
        "Argentina",
    ],
    nat=["Dutch", "Korean", "Turkish", "Norwegian", "Greek", "Chilean", "Scottish", "Thai"],
    lang=["Hindi", "Russian", "Finnish", "Icelandic", "Urdu", "Catalan"],
    event=[
        "Tour de France", "Eurovision Song Contest", "Mardi Gras", "Rugby World Cup",
        "Wimbledon Championships", "Hanukkah", "Berlin Film Festival",
    ],
    prod=["Xbox", "ThinkPad", "AirPods", "Nintendo Switch", "MacBook", "Galaxy Tab", "Prius"],
)
# fmt: on

# Slot name -> (entity label, how to fill it).  Trailing digits tell distinct
# slots of the same kind apart; a slot repeated in a template repeats its value.
SLOT_LABELS = {
    "PER": "PER",
    "FIRST": "PER",
    "LAST": "PER",
    "ORG": "ORG",
    "LOC": "LOC",
    "NAT": "MISC",
    "LANG": "MISC",
    "EVENT": "MISC",
    "PROD": "MISC",
}

NER_TEMPLATES = [
    "{PER} has been appointed chief executive of {ORG}, the company said on Tuesday.",
    "Shares of {ORG} rose 4% in {LOC} after the company announced a deal with {ORG2}.",
    "{ORG} will open a new factory near {LOC}, according to {PER}.",
    "The {NAT} government said {PER} would visit {LOC} next month.",
    "{PER}, a spokesperson for {ORG}, declined to comment.",
    "Police in {LOC} arrested two men on Sunday, officials said.",
    "{ORG} reported higher profits in {LOC} and {LOC2} this quarter.",
    "Thousands of fans travelled to {LOC} for the {EVENT}.",
    '"We are very proud of the team," said {PER} of {ORG}.',
    "{ORG} ({LOC}) posted a net loss of 12 million euros.",
    "Dr. {LAST} told reporters in {LOC} that the results were encouraging.",
    "The {EVENT} will be held in {LOC} next year.",
    "{PER} won a gold medal at the {EVENT}.",
    "{ORG} is recalling thousands of {PROD} units sold in {LOC}.",
    "Mr. {LAST} left {ORG} in 2019 to start his own firm in {LOC}.",
    "Talks between {ORG} and {ORG2} collapsed on Friday.",
    "The {NAT} ambassador met {PER} in {LOC} on Wednesday.",
    "I bought a {PROD} yesterday and I love it.",
    "My friend {PER} is moving to {LOC} next month.",
    "{PER}'s brother works at {ORG} in {LOC}.",
    "We're flying from {LOC} to {LOC2} on Friday.",
    "Can you call {FIRST} and ask if she's coming?",
    "{FIRST} speaks {LANG} and a little {LANG2}.",
    "Did you watch the {EVENT} last night?",
    "{FIRST} and {FIRST2} met at a {NAT} restaurant in {LOC}.",
    "My new {PROD} keeps crashing, so I emailed {ORG} support.",
    "Our {LANG} teacher, {PER}, grew up in {LOC}.",
    "I applied for a job at {ORG} and at {ORG2}.",
    "{LOC} is lovely, really really lovely, in the spring.",
    "Honestly, {FIRST} said that {ORG} was the best place she ever worked.",
    "Is {LOC} bigger than {LOC2}?",
    '{FIRST}: "See you at the {EVENT}!"',
    "We stayed with a {NAT} family near {LOC} for two weeks.",
    "{PER} and {PER2} are co-founders of {ORG}.",
    "According to {ORG}, {LOC} had its warmest winter on record.",
    "After the {EVENT}, {FIRST} flew back to {LOC}.",
    (
        "{ORG} said the {ORG} plant in {LOC} would stay open, and {LOC}'s mayor {PER}"
        " welcomed the news."
    ),
    "{PER} bought a {NAT} car, then another {NAT} car.",
    "{ORG} shares fell sharply after {PER} resigned as chairman.",
    "The {NAT} prime minister, {PER}, arrived in {LOC} for the {EVENT}.",
    "Residents of {LOC} voted against the new airport, {ORG} reported.",
    "{FIRST}, did you leave your {PROD} in the kitchen?",
    "Born in {LOC}, {PER} studied law in {LOC2} before joining {ORG}.",
    "Ask {PER}, she knows everything about {LOC}.",
    "{ORG} and {ORG2} agreed to merge in a deal worth 5 billion dollars.",
    "Tickets for the {EVENT} in {LOC} sold out within an hour.",
    "My grandmother only speaks {LANG}, so {FIRST} translated for us.",
    "{PER} ({ORG}) finished second, ahead of {PER2}.",
    "The museum in {LOC} is showing works by {NAT} artists this summer.",
    "Yesterday {FIRST} told me {FIRST2}'s {PROD} had been stolen in {LOC}.",
    "Prosecutors in {LOC} charged a former {ORG} executive on Thursday.",
    "We watched the {EVENT} final at {FIRST}'s place.",
    # held out (test only)
    "In an interview in {LOC}, {PER} praised the {NAT} team.",
    "{FIRST}'s new {PROD} was a gift from her colleagues at {ORG}.",
    "Analysts at {ORG} expect growth in {LOC} to slow.",
    "The {LANG} version of the report was published by {ORG} on Monday.",
    "{PER}, who moved from {LOC} to {LOC2} as a child, now runs {ORG}.",
    "Fans waved {NAT} flags as {FIRST} crossed the line.",
]
NER_HELD_OUT_TEMPLATES = 6

NO_ENTITY_SENTENCES = [
    "The weather was lovely and we walked along the river for hours.",
    "I think the meeting ran long again, again and again.",
    "Please remember to buy milk, eggs and bread.",
    "The train was delayed by twenty minutes this morning.",
    "She said the the report would be ready by Friday.",
    "No, no, no, that's not what I meant!",
    "Prices rose sharply in the second quarter, analysts said.",
    "We're going to the beach tomorrow if it doesn't rain.",
    "The company's shares fell 2% in early trading.",
    "He's been working late every night this week.",
    "The soup was too salty, but the bread was great.",
    "Can you send me the slides after the call?",
    "Officials said the bridge would reopen next week.",
    "It's cold, very very cold, outside today.",
    "My neighbour's dog barked all night.",
    "The museum is closed on Mondays.",
    "Traffic was heavy on the motorway after the accident.",
    "I can't believe it's already December.",
    "The results will be published on Thursday.",
    "They won the match 2-1 after extra time.",
    "Don't forget your umbrella!",
    "The new policy takes effect next year, the minister said.",
    "We ordered pizza and watched a film.",
    "Our flight was cancelled because of the storm.",
    "The children built a snowman in the garden.",
    "Sales of electric cars doubled last year.",
    "I'll be there in five minutes.",
    "The report highlights rising costs and falling demand.",
    "He laughed and laughed until he cried.",
    "Nobody expected the vote to be so close.",
]

NER_TRAIN_SIZE = 480
NER_TEST_SIZE = 120

_SLOT_RE = re.compile(r"\{([A-Z]+)(\d*)\}")


def _fill_slot(rng: random.Random, kind: str, vocab: NerVocab, used: set[str]) -> str:
    """Pick a filler for one slot kind, avoiding values already in the sentence."""
    while True:
        if kind == "PER":
            value = f"{rng.choice(vocab.first)} {rng.choice(vocab.last)}"
        else:
            pool = {
                "FIRST": vocab.first,
                "LAST": vocab.last,
                "ORG": vocab.org,
                "LOC": vocab.loc,
                "NAT": vocab.nat,
                "LANG": vocab.lang,
                "EVENT": vocab.event,
                "PROD": vocab.prod,
            }[kind]
            value = rng.choice(pool)
        if value not in used:
            used.add(value)
            return value


def render_ner(template: str, rng: random.Random, vocab: NerVocab) -> dict[str, object]:
    """Fill a template and return {"text", "entities"} with character offsets."""
    values: dict[str, str] = {}
    used: set[str] = set()
    text = ""
    entities: list[dict[str, object]] = []
    pos = 0
    for match in _SLOT_RE.finditer(template):
        text += template[pos : match.start()]
        kind, slot = match.group(1), match.group(0)
        if slot not in values:
            values[slot] = _fill_slot(rng, kind, vocab, used)
        start = len(text)
        text += values[slot]
        entities.append({"start": start, "end": len(text), "label": SLOT_LABELS[kind]})
        pos = match.end()
    text += template[pos:]
    return {"text": text, "entities": entities}


def build_ner(rng: random.Random) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Return (train, test) NER rows; test uses unseen fillers and some unseen templates."""
    no_entity = list(NO_ENTITY_SENTENCES)
    rng.shuffle(no_entity)
    n_test_plain = round(len(no_entity) * NER_TEST_SIZE / (NER_TRAIN_SIZE + NER_TEST_SIZE))
    splits = {
        "train": (
            NER_TRAIN_VOCAB,
            NER_TEMPLATES[:-NER_HELD_OUT_TEMPLATES],
            no_entity[n_test_plain:],
            NER_TRAIN_SIZE,
        ),
        "test": (NER_TEST_VOCAB, NER_TEMPLATES, no_entity[:n_test_plain], NER_TEST_SIZE),
    }
    out: dict[str, list[dict[str, object]]] = {}
    for name, (vocab, templates, plain, size) in splits.items():
        rows: list[dict[str, object]] = [{"text": t, "entities": []} for t in plain]
        seen = {str(r["text"]) for r in rows}
        while len(rows) < size:
            row = render_ner(rng.choice(templates), rng, vocab)
            if row["text"] not in seen:
                seen.add(str(row["text"]))
                rows.append(row)
        rng.shuffle(rows)
        out[name] = rows
    return out["train"], out["test"]


def _write_jsonl(path: Path, rows: Sequence[dict[str, object]] | Sequence[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    """Regenerate the four committed JSON Lines files."""
    rng = random.Random(SEED)
    sent_train, sent_test = build_sentiment(rng)
    ner_train, ner_test = build_ner(rng)
    _write_jsonl(DATA_DIR / "sentiment.train.jsonl", sent_train)
    _write_jsonl(DATA_DIR / "sentiment.test.jsonl", sent_test)
    _write_jsonl(DATA_DIR / "ner.train.jsonl", ner_train)
    _write_jsonl(DATA_DIR / "ner.test.jsonl", ner_test)
    for name, count in [
        ("sentiment.train", len(sent_train)),
        ("sentiment.test", len(sent_test)),
        ("ner.train", len(ner_train)),
        ("ner.test", len(ner_test)),
    ]:
        print(f"{name}: {count} rows")


if __name__ == "__main__":
    main()
