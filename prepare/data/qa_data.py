"""Seeded generator of short factual contexts with questions and answer spans (extractive QA).

A context is two to four facts about one subject (a person, a building, a company, an
event, a city), each fact one sentence from that fact's sentence templates; one fact is
asked about with one of its question templates. The last sentence template and the last
question template of every fact, and separate name/place/object lists, are held out for
the test split, so the held-out score measures whole unseen phrasings.

Nothing is written to disk: ``build_qa(split)`` returns the same rows on every call.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

SEED = 20261207

# Slot vocabularies: (train, test); the test values never occur in training rows.
FIRST = (
    [
        "Anna",
        "Michael",
        "Fatima",
        "Lukas",
        "Priya",
        "Carlos",
        "Yuki",
        "Emma",
        "Kwame",
        "Sophie",
        "Ahmed",
        "Ingrid",
        "Mateo",
        "Grace",
        "Ravi",
        "Olga",
        "Henrik",
        "Lucia",
        "Thomas",
        "Maria",
        "David",
        "Sara",
        "Jonas",
        "Elena",
        "Peter",
        "Amara",
        "Hugo",
        "Nina",
        "Oscar",
        "Leila",
        "Daniel",
        "Julia",
        "Samuel",
        "Hannah",
        "Victor",
        "Clara",
    ],
    ["Robert", "Alice", "Marco", "Helen", "Kenji", "Rosa", "Frank", "Irene", "Tariq", "Eva"],
)
LAST = (
    [
        "Keller",
        "Garcia",
        "Novak",
        "Okafor",
        "Lindqvist",
        "Rossi",
        "Patel",
        "Haddad",
        "Jensen",
        "Costa",
        "Nguyen",
        "Smith",
        "Ivanova",
        "Johansson",
        "Kim",
        "Schmidt",
        "Dubois",
        "Bianchi",
        "Zhang",
        "Adeyemi",
        "Horvath",
        "Suzuki",
        "Moreau",
        "Brown",
        "Fischer",
        "Silva",
        "Walker",
        "Meyer",
        "Larsen",
        "Kowalski",
    ],
    ["Hartmann", "Ortega", "Tanaka", "Fleming", "Mensah", "Petrov", "Carter", "Weiss"],
)
CITY = (
    [
        "Lyon",
        "Berlin",
        "Tokyo",
        "Madrid",
        "Nairobi",
        "Toronto",
        "Mumbai",
        "Cairo",
        "Oslo",
        "Boston",
        "Chicago",
        "Vienna",
        "Prague",
        "Lisbon",
        "Dublin",
        "Seoul",
        "Lima",
        "Hamburg",
        "Milan",
        "Sydney",
        "Denver",
        "Porto",
        "Krakow",
        "Osaka",
        "Geneva",
        "Glasgow",
        "Seattle",
        "Naples",
        "Bergen",
        "Montreal",
    ],
    ["Edinburgh", "Rotterdam", "Melbourne", "Kyoto", "Warsaw", "Valencia", "Atlanta", "Quito"],
)
COUNTRY = (
    [
        "France",
        "Germany",
        "Japan",
        "Spain",
        "Kenya",
        "Canada",
        "India",
        "Egypt",
        "Norway",
        "Austria",
        "Portugal",
        "Ireland",
        "Peru",
        "Italy",
        "Brazil",
        "Mexico",
        "Sweden",
        "Chile",
        "Poland",
        "Greece",
    ],
    ["Scotland", "Finland", "Ghana", "Vietnam", "Argentina", "Denmark"],
)
COMPANY = (
    [
        "Northwind",
        "Brightline",
        "Corvell",
        "Halvard Systems",
        "Lumio",
        "Vexa Foods",
        "Solano Motors",
        "Tessaro",
        "Kinetix",
        "Aurex",
        "Bluepeak",
        "Redstone Energy",
        "Greenleaf",
        "Orbis Media",
        "Silverline",
        "Harbor Bank",
        "Nordkap",
        "Pinecrest",
    ],
    ["Zentra", "Mavik Labs", "Orlen Steel", "Pixley", "Dunmore Foods", "Castell"],
)
JOB = (
    [
        "nurse",
        "teacher",
        "pilot",
        "lawyer",
        "chef",
        "architect",
        "engineer",
        "doctor",
        "journalist",
        "baker",
        "farmer",
        "librarian",
        "carpenter",
        "pharmacist",
        "painter",
        "dentist",
        "accountant",
        "firefighter",
        "mechanic",
        "photographer",
    ],
    ["veterinarian", "electrician", "translator", "surgeon", "plumber", "geologist"],
)
OBJECT = (
    [
        "bicycle",
        "piano",
        "violin",
        "camera",
        "telescope",
        "sailboat",
        "guitar",
        "laptop",
        "motorcycle",
        "painting",
        "sewing machine",
        "typewriter",
        "microscope",
        "clock",
        "kayak",
        "tractor",
        "radio",
        "chess set",
        "globe",
        "lantern",
    ],
    ["harp", "canoe", "drone", "trumpet", "compass", "wheelbarrow", "cello", "printer"],
)
PRODUCT = (
    [
        "electric cars",
        "frozen pizza",
        "running shoes",
        "solar panels",
        "toys",
        "mobile phones",
        "furniture",
        "coffee machines",
        "bicycles",
        "medicines",
        "paint",
        "software",
        "chocolate",
        "tyres",
        "glass bottles",
        "garden tools",
    ],
    ["wind turbines", "breakfast cereal", "hearing aids", "umbrellas", "pianos", "ice cream"],
)
BUILDING = (
    [
        "tower",
        "bridge",
        "cathedral",
        "museum",
        "library",
        "lighthouse",
        "stadium",
        "castle",
        "opera house",
        "town hall",
        "train station",
        "observatory",
    ],
    ["monastery", "dam", "palace", "concert hall", "clock tower"],
)
BUILDING_NAME = (
    [
        "Riverside",
        "Kingsgate",
        "Northgate",
        "Old Harbour",
        "St. Martin",
        "Westfield",
        "Greystone",
        "Hillcrest",
        "Lakeside",
        "Crown",
        "Eastbrook",
        "Millbrook",
    ],
    ["Ashford", "Redcliff", "Oakmont", "Stonebridge", "Fairhaven"],
)
EVENT = (
    [
        "marathon",
        "chess tournament",
        "jazz festival",
        "film festival",
        "science fair",
        "cooking contest",
        "book fair",
        "regatta",
        "poetry prize",
        "cycling race",
        "piano competition",
        "photography award",
    ],
    ["tennis open", "dance competition", "robotics challenge", "spelling bee", "wine fair"],
)
BOOK = (
    [
        "The Silent River",
        "Paper Moons",
        "A Winter in Rome",
        "The Glass Garden",
        "Northern Light",
        "The Last Orchard",
        "Salt and Stone",
        "The Clockmaker",
        "Empty Harbours",
        "The Blue Hour",
    ],
    ["The Iron Bell", "Falling Leaves", "A House by the Sea", "The Long Road"],
)
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
NUMWORD = ["two", "three", "four", "five", "six", "seven"]


@dataclass(frozen=True)
class Fact:
    """One kind of fact: its sentence templates and its (question template, answer slot)s."""

    sentences: tuple[str, ...]
    questions: tuple[tuple[str, str], ...]


# {S} is the subject's name ({SR} where a pronoun may stand for it at a sentence start).
PERSON_FACTS = (
    Fact(
        (
            "{SR} was born in {YEAR}.",
            "{SR} was born in the spring of {YEAR}.",
            "Born in {YEAR}, {S} grew up in a small village.",
            "{S}'s birth year was {YEAR}.",
        ),
        (
            ("When was {S} born?", "YEAR"),
            ("In what year was {S} born?", "YEAR"),
            ("What year was {S} born in?", "YEAR"),
        ),
    ),
    Fact(
        (
            "{SR} was born in {CITY}.",
            "{S} comes from {CITY}, where {PRON} spent {POSS} childhood.",
            "{S} grew up in {CITY}.",
            "The city of {CITY} is where {S} was born.",
        ),
        (
            ("Where was {S} born?", "CITY"),
            ("Which city does {S} come from?", "CITY"),
            ("Where did {S} grow up?", "CITY"),
        ),
    ),
    Fact(
        (
            "{SR} works as a {JOB} at {COMPANY}.",
            "{SR} has been a {JOB} for {NUM} years.",
            "After university {S} became a {JOB}.",
            "By profession, {S} is a {JOB}.",
        ),
        (
            ("What is {S}'s job?", "JOB"),
            ("What does {S} do for a living?", "JOB"),
            ("What is {S}'s profession?", "JOB"),
        ),
    ),
    Fact(
        (
            "{SR} works for {COMPANY} in {CITY}.",
            "{SR} joined {COMPANY} in {YEAR}.",
            "{S} took a job at {COMPANY} after moving to {CITY}.",
            "The company {S} works for is {COMPANY}.",
        ),
        (
            ("Which company does {S} work for?", "COMPANY"),
            ("Where does {S} work?", "COMPANY"),
            ("Who is {S}'s employer?", "COMPANY"),
        ),
    ),
    Fact(
        (
            "{SR} married {P2} in {YEAR}.",
            "{SR} is married to {P2}.",
            "{S} and {P2} got married in {CITY}.",
            "{S} has shared {POSS} life with {P2} since {YEAR}.",
        ),
        (
            ("Who did {S} marry?", "P2"),
            ("Who is {S} married to?", "P2"),
            ("Who is {S}'s spouse?", "P2"),
        ),
    ),
    Fact(
        (
            "{SR} bought a {OBJECT} for {PRICE} dollars.",
            "Last year {S} bought an old {OBJECT}.",
            "{SR} owns a {OBJECT} that belonged to {POSS} grandfather.",
            "{S}'s most treasured possession is a {OBJECT}.",
        ),
        (
            ("What did {S} buy?", "OBJECT"),
            ("What does {S} own?", "OBJECT"),
            ("What object does {S} treasure?", "OBJECT"),
        ),
    ),
    Fact(
        (
            "In {YEAR}, {S} moved to {CITY2}.",
            "{SR} moved to {CITY2} in {YEAR}.",
            "{SR} now lives in {CITY2}.",
            "These days {S} makes {POSS} home in {CITY2}.",
        ),
        (
            ("Where did {S} move to?", "CITY2"),
            ("Where does {S} live now?", "CITY2"),
            ("In which city does {S} live?", "CITY2"),
        ),
    ),
    Fact(
        (
            "{SR} wrote a novel called {BOOK}.",
            "{SR} is the author of {BOOK}.",
            "{S}'s first book, {BOOK}, sold well.",
            "{BOOK} is a novel written by {S}.",
        ),
        (
            ("What book did {S} write?", "BOOK"),
            ("What is the title of {S}'s novel?", "BOOK"),
            ("Which novel was written by {S}?", "BOOK"),
        ),
    ),
    Fact(
        (
            "{SR} has {NUMWORD} children.",
            "{SR} and {POSS} partner raised {NUMWORD} children.",
            "{S} is the parent of {NUMWORD} children.",
            "{S} has a family of {NUMWORD} children.",
        ),
        (
            ("How many children does {S} have?", "NUMWORD"),
            ("How many kids does {S} have?", "NUMWORD"),
            ("What is the number of {S}'s children?", "NUMWORD"),
        ),
    ),
)

THING_FACTS = (
    Fact(
        (
            "The {B} was built in {YEAR}.",
            "Construction of the {B} was finished in {YEAR}.",
            "The {B} opened to the public in {YEAR}.",
            "Work on the {B} ended in {YEAR}.",
        ),
        (
            ("When was the {B} built?", "YEAR"),
            ("In what year was the {B} completed?", "YEAR"),
            ("When did the {B} open?", "YEAR"),
        ),
    ),
    Fact(
        (
            "The {B} was designed by {P2}.",
            "The architect of the {B} was {P2}.",
            "{P2} drew the plans for the {B}.",
            "The {B} is the work of the architect {P2}.",
        ),
        (
            ("Who designed the {B}?", "P2"),
            ("Who was the architect of the {B}?", "P2"),
            ("Who planned the {B}?", "P2"),
        ),
    ),
    Fact(
        (
            "The {B} is {HEIGHT} metres tall.",
            "The {B} rises {HEIGHT} metres above the ground.",
            "At {HEIGHT} metres, the {B} is the tallest building in the area.",
            "The height of the {B} is {HEIGHT} metres.",
        ),
        (
            ("How tall is the {B}?", "HEIGHT"),
            ("What is the height of the {B} in metres?", "HEIGHT"),
            ("How many metres high is the {B}?", "HEIGHT"),
        ),
    ),
    Fact(
        (
            "The {B} stands in the centre of {CITY}.",
            "The {B} is located in {CITY}.",
            "Visitors can find the {B} in {CITY}, {COUNTRY}.",
            "{CITY} is home to the {B}.",
        ),
        (
            ("Where is the {B}?", "CITY"),
            ("In which city is the {B} located?", "CITY"),
            ("Where can you find the {B}?", "CITY"),
        ),
    ),
    Fact(
        (
            "About {VISITORS} people visit the {B} every year.",
            "The {B} welcomes {VISITORS} visitors a year.",
            "Each year {VISITORS} tourists come to see the {B}.",
            "The {B} attracts {VISITORS} visitors annually.",
        ),
        (
            ("How many people visit the {B} every year?", "VISITORS"),
            ("How many visitors does the {B} have each year?", "VISITORS"),
            ("How many tourists see the {B} annually?", "VISITORS"),
        ),
    ),
)

COMPANY_FACTS = (
    Fact(
        (
            "{C} was founded in {YEAR} by {P2}.",
            "{P2} founded {C} in {YEAR}.",
            "{C} was started by {P2} in a garage.",
            "The founder of {C} is {P2}.",
        ),
        (
            ("Who founded {C}?", "P2"),
            ("Who started {C}?", "P2"),
            ("Who is the founder of {C}?", "P2"),
        ),
    ),
    Fact(
        (
            "{C} was founded in {YEAR}.",
            "{C} has been in business since {YEAR}.",
            "{C} opened its first shop in {YEAR}.",
            "The year {C} was founded was {YEAR}.",
        ),
        (
            ("When was {C} founded?", "YEAR"),
            ("In what year was {C} established?", "YEAR"),
            ("Since when has {C} existed?", "YEAR"),
        ),
    ),
    Fact(
        (
            "The headquarters of {C} are in {CITY}.",
            "{C} is based in {CITY}.",
            "{C} has its main office in {CITY}.",
            "{CITY} is where {C} has its head office.",
        ),
        (
            ("Where is {C} based?", "CITY"),
            ("Where are the headquarters of {C}?", "CITY"),
            ("In which city is {C}'s main office?", "CITY"),
        ),
    ),
    Fact(
        (
            "{C} makes {PRODUCT}.",
            "{C} is best known for its {PRODUCT}.",
            "The company sells {PRODUCT} all over the world.",
            "Most of what {C} produces is {PRODUCT}.",
        ),
        (
            ("What does {C} make?", "PRODUCT"),
            ("What does {C} produce?", "PRODUCT"),
            ("What products does {C} sell?", "PRODUCT"),
        ),
    ),
    Fact(
        (
            "{C} employs {STAFF} people.",
            "{C} has {STAFF} employees.",
            "More than {STAFF} people work for {C}.",
            "The staff of {C} numbers {STAFF}.",
        ),
        (
            ("How many people work at {C}?", "STAFF"),
            ("How many employees does {C} have?", "STAFF"),
            ("How large is the staff of {C}?", "STAFF"),
        ),
    ),
)

EVENT_FACTS = (
    Fact(
        (
            "The {E} took place on {DATE}.",
            "The {E} was held on {DATE}.",
            "On {DATE}, the {E} began.",
            "The date of the {E} was {DATE}.",
        ),
        (
            ("When did the {E} take place?", "DATE"),
            ("On what date was the {E} held?", "DATE"),
            ("When was the {E}?", "DATE"),
        ),
    ),
    Fact(
        (
            "The {E} was held in {CITY}.",
            "This year the {E} came to {CITY}.",
            "{CITY} hosted the {E}.",
            "The host city of the {E} was {CITY}.",
        ),
        (
            ("Where was the {E} held?", "CITY"),
            ("Which city hosted the {E}?", "CITY"),
            ("Where did the {E} take place?", "CITY"),
        ),
    ),
    Fact(
        (
            "{P2} won the {E}.",
            "The winner of the {E} was {P2}.",
            "First place in the {E} went to {P2}.",
            "The {E} was won by {P2}.",
        ),
        (
            ("Who won the {E}?", "P2"),
            ("Who was the winner of the {E}?", "P2"),
            ("Who came first in the {E}?", "P2"),
        ),
    ),
    Fact(
        (
            "The winner received a {OBJECT}.",
            "As a prize, the winner was given a {OBJECT}.",
            "The prize was a {OBJECT}.",
            "A {OBJECT} was awarded to the winner.",
        ),
        (
            ("What did the winner receive?", "OBJECT"),
            ("What was the prize?", "OBJECT"),
            ("What was the winner given?", "OBJECT"),
        ),
    ),
    Fact(
        (
            "{ENTRANTS} people took part in the {E}.",
            "The {E} had {ENTRANTS} participants.",
            "There were {ENTRANTS} entrants in the {E}.",
            "The number of people who entered the {E} was {ENTRANTS}.",
        ),
        (
            ("How many people took part in the {E}?", "ENTRANTS"),
            ("How many participants did the {E} have?", "ENTRANTS"),
            ("How many entrants were there in the {E}?", "ENTRANTS"),
        ),
    ),
)

# Sentences that answer nothing, mixed into contexts as distractors.
FILLERS = (
    "It was a cold morning.",
    "Many people still remember that day.",
    "The weather that year was unusually warm.",
    "Local newspapers wrote about it for weeks.",
    "Nobody expected what happened next.",
    "The story is told in many schools.",
    "Photos from that time are kept in the city archive.",
)

_SLOT = re.compile(r"\{([A-Z0-9]+)\}")


def _values(rng: random.Random, test: bool) -> dict[str, str]:
    k = 1 if test else 0

    def pick(pool: tuple[list[str], list[str]]) -> str:
        return rng.choice(pool[k])

    first, second = rng.sample(range(len(FIRST[k])), 2)
    city, city2 = rng.sample(CITY[k], 2)
    year = rng.randint(1820, 2022)
    return {
        "S": f"{FIRST[k][first]} {pick(LAST)}",
        "P2": f"{FIRST[k][second]} {pick(LAST)}",
        "YEAR": str(year),
        "DATE": f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {year}",
        "CITY": city,
        "CITY2": city2,
        "COUNTRY": pick(COUNTRY),
        "COMPANY": pick(COMPANY),
        "C": pick(COMPANY),
        "JOB": pick(JOB),
        "OBJECT": pick(OBJECT),
        "PRODUCT": pick(PRODUCT),
        "B": f"{pick(BUILDING_NAME)} {pick(BUILDING)}",
        "E": f"{pick(BUILDING_NAME)} {pick(EVENT)}",
        "BOOK": pick(BOOK),
        "NUM": str(rng.randint(2, 30)),
        "NUMWORD": rng.choice(NUMWORD),
        "PRICE": str(rng.choice([50, 120, 300, 450, 800, 1200, 2500])),
        "HEIGHT": str(rng.randint(20, 400)),
        "VISITORS": f"{rng.randint(1, 900)},000"
        if rng.random() < 0.6
        else str(rng.randint(2, 9)) + " million",
        "STAFF": f"{rng.randint(1, 90)},{rng.randint(100, 999)}"
        if rng.random() < 0.5
        else str(rng.randint(20, 950)),
        "ENTRANTS": str(rng.randint(12, 4000)),
    }


def _render(template: str, values: dict[str, str]) -> tuple[str, dict[str, tuple[int, int]]]:
    """Fill a template; return the text and each slot's character span."""
    text, pos = "", 0
    spans: dict[str, tuple[int, int]] = {}
    for match in _SLOT.finditer(template):
        text += template[pos : match.start()]
        value = values[match.group(1)]
        spans.setdefault(match.group(1), (len(text), len(text) + len(value)))
        text += value
        pos = match.end()
    return text + template[pos:], spans


def _subject_forms(rng: random.Random, values: dict[str, str], kind: str) -> None:
    """Pronouns for a person subject (he or she, at random)."""
    if kind == "person":
        she = rng.random() < 0.5
        values["PRON"], values["POSS"] = ("she", "her") if she else ("he", "his")
        values["SUBJ"] = "She" if she else "He"


def qa_example(rng: random.Random, test: bool) -> dict[str, object]:
    """One context with one question about it and the answer's character span."""
    kind = rng.choice(["person", "person", "thing", "company", "event"])
    facts = {
        "person": PERSON_FACTS,
        "thing": THING_FACTS,
        "company": COMPANY_FACTS,
        "event": EVENT_FACTS,
    }[kind]
    values = _values(rng, test)
    _subject_forms(rng, values, kind)
    chosen = rng.sample(range(len(facts)), rng.randint(2, min(4, len(facts))))
    asked = rng.choice(chosen)
    sentences: list[tuple[str, int]] = []
    for index in chosen:
        templates = facts[index].sentences
        if index == asked:
            template = templates[-1] if test else rng.choice(templates[:-1])
        else:
            template = rng.choice(templates)
        sentences.append((template, index))
    if rng.random() < 0.3:
        sentences.insert(rng.randint(0, len(sentences)), (rng.choice(FILLERS), -1))
    context, answer_span = "", (0, 0)
    named = False
    question_template, slot = (
        facts[asked].questions[-1] if test else rng.choice(facts[asked].questions[:-1])
    )
    for template, index in sentences:
        if "{SR}" in template:
            # The first mention names the subject; later ones may be a pronoun.
            use_pronoun = named and kind == "person" and rng.random() < 0.6
            template = template.replace("{SR}", "{SUBJ}" if use_pronoun else "{S}")
        if "{S}" in template:
            named = True
        text, spans = _render(template, values)
        if index == asked:
            start, end = spans[slot]
            answer_span = (len(context) + start, len(context) + end)
        context += text + " "
    question, _ = _render(question_template, values)
    context = context.rstrip()
    start, end = answer_span
    return {"context": context, "question": question, "answer": context[start:end], "start": start}


def build_qa(split: str, size: int) -> list[dict[str, object]]:
    """``size`` rows of {"context", "question", "answer", "start"} for ``split`` (train/test)."""
    rng = random.Random(f"{SEED}-{split}")
    return [qa_example(rng, split == "test") for _ in range(size)]
