"""Seeded generator of short factual contexts with questions and answer spans (extractive QA).

A context is two to four facts about one subject (a person and their everyday life, a
building, a company, an event, a mountain, a river), each fact one sentence from that fact's
sentence templates; one fact is asked about with one of its question templates. The facts
vary what users' own prose holds: measures with their unit, noun phrases with determiners and
adjectives, names with titles, multi-word places, times of day, venues, dates, lists, moves
from one city to another, answers inside longer clauses, several values of one type in one
context, "It" and pronouns for the subject, and questions that say "she" or "the aunt". The
last sentence template and the last question template of every fact, and separate
name/place/object lists, are held out for the test split, so the held-out score measures
whole unseen phrasings.

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
        "Cape Town",
        "Buenos Aires",
        "Hong Kong",
        "New Delhi",
        "Rio de Janeiro",
        "Tel Aviv",
        "Las Vegas",
    ],
    [
        "Kuala Lumpur",
        "Mexico City",
        "Edinburgh",
        "Rotterdam",
        "Melbourne",
        "Kyoto",
        "Warsaw",
        "Valencia",
        "Atlanta",
        "Quito",
    ],
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
COLOUR = (
    ["red", "blue", "green", "black", "white", "yellow", "grey", "brown"],
    ["purple", "orange", "silver"],
)
ADJ = (
    ["old", "new", "small", "large", "wooden", "heavy", "cheap", "second-hand"],
    ["antique", "tiny", "shiny"],
)
GOODS = (
    [
        "eggs",
        "cheese",
        "apples",
        "bread",
        "flowers",
        "jam",
        "vegetables",
        "fish",
        "olives",
        "strawberries",
    ],
    ["mushrooms", "cherries", "soap", "wool"],
)
VEHICLE = (["van", "car", "truck", "motorbike", "scooter", "jeep"], ["minibus", "pickup"])
FIELD = (
    ["law", "history", "medicine", "physics", "music", "economics", "biology", "mathematics"],
    ["geology", "philosophy", "linguistics", "astronomy"],
)
ANIMALS = (
    ["goats", "sheep", "chickens", "horses", "pigs", "ducks"],
    ["rabbits", "llamas", "geese"],
)
TRANSPORT = ["train", "flight", "bus", "ferry", "plane"]
REASON = (
    ["snow", "a storm", "heavy rain", "a strike", "engine trouble", "an accident"],
    ["ice on the tracks", "a power cut", "strong wind"],
)
ITEM = (
    ["wallet", "keys", "phone", "scarf", "hat", "gloves", "bag", "glasses", "notebook", "watch"],
    ["passport"],
)
PLURAL = (
    ["apples", "oranges", "sandwiches", "bananas", "tomatoes", "lemons", "cakes", "candles"],
    ["pears", "peaches", "muffins"],
)
RELATIVE = ["brother", "sister", "son", "daughter", "mother", "father", "friend", "nephew"]
OCCASION = ["Christmas", "a birthday", "the holidays", "graduation", "the wedding"]
VENUE_PLACE = (
    ["hall", "church", "school", "theatre", "library", "café", "park", "garden"],
    ["barn", "chapel", "gallery"],
)
VENUE_ADJ = ["old", "new", "small", "big", "main", "little"]
STREET = ["Street", "Road", "Lane", "Avenue", "Square"]
ART = [("painting", "painted"), ("portrait", "painted"), ("mural", "painted"), ("map", "drawn")]
TITLE = ["Dr.", "Professor", "Captain"]
# Role nouns that can stand for a person subject ("my aunt"; the question says "the aunt").
ROLE = (
    [
        ("aunt", "she"),
        ("uncle", "he"),
        ("grandfather", "he"),
        ("sister", "she"),
        ("neighbour", "he"),
        ("cousin", "she"),
        ("brother", "he"),
    ],
    [("godmother", "she"), ("landlord", "he")],
)
PLACE_NAME = (
    [
        "Arvel",
        "Tessin",
        "Orla",
        "Kalda",
        "Merro",
        "Varna",
        "Selby",
        "Dunmor",
        "Ravel",
        "Hesk",
        "Ilmar",
        "Brenna",
    ],
    ["Ostra", "Belun", "Corrin", "Vashti"],
)
POSITION = (
    ["defender", "striker", "midfielder", "winger", "captain", "referee"],
    ["sweeper"],
)
SPORT_TEAM = ["football", "hockey", "handball", "rugby", "water polo"]
REGIONS = ["countries", "towns", "regions", "provinces", "valleys"]


@dataclass(frozen=True)
class Fact:
    """One kind of fact: its sentence templates and its (question template, answer slot)s.

    Every sentence template holds every slot its questions ask about.
    """

    sentences: tuple[str, ...]
    questions: tuple[tuple[str, str], ...]


# {S} is the subject's name ({SR} where a pronoun may stand for it at a sentence start).
# Measures keep their unit in the answer ("12 metres", "three hours", "40 dollars"); counts of
# things do not ("640", not "640 pupils"); noun phrases keep their determiner and adjectives.
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
            "{SR} bought {OBJNP} for {PRICE}.",
            "Last year {S} bought {OBJNP} at an auction in {CITY}.",
            "{SR} owns {OBJNP} that belonged to {POSS} grandfather.",
            "{S}'s most treasured possession is {OBJNP}.",
        ),
        (
            ("What did {S} buy?", "OBJNP"),
            ("What does {S} own?", "OBJNP"),
            ("What object does {S} treasure?", "OBJNP"),
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

# Everyday facts about a person: objects, durations, trips, lists, moves from one city to another.
DAILY_FACTS = (
    Fact(
        (
            "{SR} started {POSS} first job on {DATE}.",
            "On {DATE}, {S} began working at {COMPANY}.",
            "{S}'s first day at {COMPANY} was {DATE}, a rainy day in {CITY}.",
            "{S} has worked at {COMPANY} since {DATE}.",
        ),
        (
            ("When did {S} start working?", "DATE"),
            ("On what date did {S} start {POSS} first job?", "DATE"),
            ("Since when has {S} worked at {COMPANY}?", "DATE"),
        ),
    ),
    Fact(
        (
            "{SR} plays as a {POSITION} for a {SPORT} team in {CITY}.",
            "In {POSS} youth, {S} played {SPORT} in {CITY} as a {POSITION}.",
            "{S}, a {POSITION} for many years, now coaches {SPORT} in {CITY}.",
            "On the {SPORT} team of {CITY}, {S} was the {POSITION}.",
        ),
        (
            ("What position does {S} play?", "POSITION"),
            ("Which sport did {S} play?", "SPORT"),
            ("Where did {S} play {SPORT}?", "CITY"),
            ("What was {S}'s position?", "POSITION"),
        ),
    ),
    Fact(
        (
            "Every summer {S} sells {GOODS} at the market in {CITY}.",
            "{SR} sells {GOODS} from a stall in the main square of {CITY}.",
            "At the Saturday market in {CITY}, {S} sells {GOODS} to tourists.",
            "{SR} earns a little extra money selling {GOODS} in {CITY}.",
        ),
        (
            ("What does {S} sell?", "GOODS"),
            ("Where does {S} sell {GOODS}?", "CITY"),
            ("What does {S} sell at the market?", "GOODS"),
            ("What does {S} sell in {CITY}?", "GOODS"),
        ),
    ),
    Fact(
        (
            "{SR} drives {VEHNP} to work every morning.",
            "Each morning {S} takes {VEHNP} to the farm.",
            "{SR} has driven {VEHNP} for years.",
            "To get to work, {S} uses {VEHNP}.",
        ),
        (
            ("What does {S} drive?", "VEHNP"),
            ("What vehicle does {S} drive?", "VEHNP"),
            ("How does {S} get to work?", "VEHNP"),
        ),
    ),
    Fact(
        (
            "{SR} studied {FIELD} in {CITY} before becoming a {JOB}.",
            "{S} went to university in {CITY}, where {PRON} studied {FIELD}.",
            "After school, {S} studied {FIELD} at a college in {CITY}.",
            "{S} has a degree in {FIELD} from a university in {CITY}.",
        ),
        (
            ("What did {S} study?", "FIELD"),
            ("Where did {S} study?", "CITY"),
            ("Which subject did {S} study in {CITY}?", "FIELD"),
            ("In which city did {S} go to university?", "CITY"),
        ),
    ),
    Fact(
        (
            "{SR} kept {ANIMALS} for {DURATION}.",
            "For {DURATION}, {S} raised {ANIMALS} on a farm near {CITY}.",
            "{SR} looked after {ANIMALS} for {DURATION} before retiring.",
            "{S} spent {DURATION} keeping {ANIMALS} in {POSS} garden.",
        ),
        (
            ("How long did {S} keep {ANIMALS}?", "DURATION"),
            ("What animals did {S} keep?", "ANIMALS"),
            ("For how long did {S} look after {ANIMALS}?", "DURATION"),
            ("How many years did {S} spend with {ANIMALS}?", "DURATION"),
        ),
    ),
    Fact(
        (
            "{S}'s {TRANSPORT} to {CITY} was delayed by {DELAY} because of {REASON}.",
            "Because of {REASON}, {S}'s {TRANSPORT} to {CITY} left {DELAY} late.",
            "The {TRANSPORT} that {S} took to {CITY} arrived {DELAY} late after {REASON}.",
            "{S} waited {DELAY} for {POSS} {TRANSPORT} to {CITY} because of {REASON}.",
        ),
        (
            ("How long was {S}'s {TRANSPORT} delayed?", "DELAY"),
            ("Where was {S}'s {TRANSPORT} going?", "CITY"),
            ("Why was {S}'s {TRANSPORT} late?", "REASON"),
            ("Where was {S} travelling to?", "CITY"),
            ("How long did {S} have to wait?", "DELAY"),
        ),
    ),
    Fact(
        (
            "{SR} moved from {CITY} to {CITY2} in {YEAR}.",
            "In {YEAR}, {S} left {CITY} and moved to {CITY2}.",
            "{S} grew up in {CITY} but has lived in {CITY2} since {YEAR}.",
            "{S} swapped {CITY} for {CITY2} in {YEAR}.",
        ),
        (
            ("Where did {S} move to?", "CITY2"),
            ("Where did {S} live before {YEAR}?", "CITY"),
            ("Which city did {S} leave?", "CITY"),
            ("When did {S} move to {CITY2}?", "YEAR"),
            ("Where does {S} live now?", "CITY2"),
        ),
    ),
    Fact(
        (
            "{SR} gave {POSS} {RELATIVE} {GIFT} for {OCCASION}.",
            "For {OCCASION}, {S} bought {POSS} {RELATIVE} {GIFT}.",
            "{S}'s {RELATIVE} got {GIFT} from {S} for {OCCASION}.",
            "The present that {S} chose for {POSS} {RELATIVE} was {GIFT}.",
        ),
        (
            ("What did {S} give {POSS} {RELATIVE}?", "GIFT"),
            ("What present did {S} get for {POSS} {RELATIVE}?", "GIFT"),
            ("What did {S}'s {RELATIVE} receive?", "GIFT"),
        ),
    ),
    Fact(
        (
            "{SR} lost {POSSITEM} in {CITY} on {WEEKDAY}.",
            "On {WEEKDAY}, {S} forgot {POSSITEM} at a café in {CITY}.",
            "{SR} left {POSSITEM} on a bench in {CITY} last {WEEKDAY}.",
            "{S} could not find {POSSITEM} after a day out in {CITY} on {WEEKDAY}.",
        ),
        (
            ("What did {S} lose?", "POSSITEM"),
            ("In which city did {S} lose something?", "CITY"),
            ("What did {S} leave behind?", "POSSITEM"),
            ("What was {S} missing?", "POSSITEM"),
        ),
    ),
    Fact(
        (
            "{SR} bought {COUNT} {PLURAL}, a loaf of bread and some milk.",
            "For the picnic {S} packed {COUNT} {PLURAL}, a blanket and a bottle of water.",
            "{S}'s basket held {COUNT} {PLURAL}, a bag of rice and some cheese.",
            "On {POSS} way home {S} picked up {COUNT} {PLURAL} and a newspaper.",
        ),
        (
            ("How many {PLURAL} did {S} get?", "COUNT"),
            ("How many {PLURAL} did {S} have?", "COUNT"),
            ("How many {PLURAL} did {S} pick up?", "COUNT"),
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
            "The {B} is {HEIGHT} tall.",
            "The {B} rises {HEIGHT} above the ground.",
            "At {HEIGHT}, the {B} is the tallest building in the area.",
            "The height of the {B} is {HEIGHT}.",
        ),
        (
            ("How tall is the {B}?", "HEIGHT"),
            ("What is the height of the {B}?", "HEIGHT"),
            ("How high is the {B}?", "HEIGHT"),
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
    Fact(
        (
            "The {B} is owned by {P2}.",
            "The {B} belongs to {P2}, who bought it in {YEAR}.",
            "The owner of the {B} is {P2}.",
            "Since {YEAR} the {B} has been the property of {P2}.",
        ),
        (
            ("Who owns the {B}?", "P2"),
            ("Who is the owner of the {B}?", "P2"),
            ("To whom does the {B} belong?", "P2"),
        ),
    ),
    Fact(
        (
            "The most famous {ART} in the {B} was {MADE} by {P2}.",
            "The {B} is known for a {ART} {MADE} by {P2} in {YEAR}.",
            "Inside the {B} there is a large {ART} that was {MADE} by {P2}.",
            "Visitors to the {B} come to see a {ART} {MADE} by {P2}.",
        ),
        (
            ("Who {MADE_Q} the {ART} in the {B}?", "P2"),
            ("Who made the famous {ART}?", "P2"),
            ("Whose {ART} can be seen in the {B}?", "P2"),
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
    Fact(
        (
            "{C} moved its head office from {CITY} to {CITY2} in {YEAR}.",
            "In {YEAR}, {C} left {CITY} and opened new offices in {CITY2}.",
            "{C} was based in {CITY} until {YEAR}, when it moved to {CITY2}.",
            "{C} swapped its offices in {CITY} for a building in {CITY2} in {YEAR}.",
        ),
        (
            ("Where did {C} move its head office to?", "CITY2"),
            ("Where was {C} based before {YEAR}?", "CITY"),
            ("Which city did {C} leave?", "CITY"),
            ("Where are {C}'s offices now?", "CITY2"),
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
            "The winner received {OBJNP}.",
            "As a prize, the winner was given {OBJNP}.",
            "The prize was {OBJNP}.",
            "{OBJNP} was awarded to the winner.",
        ),
        (
            ("What did the winner receive?", "OBJNP"),
            ("What was the prize?", "OBJNP"),
            ("What was the winner given?", "OBJNP"),
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
    Fact(
        (
            "The {E} starts at {TIME} on {WEEKDAY}.",
            "On {WEEKDAY} the {E} begins at {TIME} in {VENUE}.",
            "Doors open for the {E} at {TIME}, and the first guests arrive early.",
            "The {E} gets under way at {TIME} on {WEEKDAY}.",
        ),
        (
            ("What time does the {E} start?", "TIME"),
            ("When does the {E} begin?", "TIME"),
            ("When does the {E} start?", "TIME"),
            ("At what time does the {E} start?", "TIME"),
        ),
    ),
    Fact(
        (
            "The {E} takes place in {VENUE}.",
            "This year the {E} will be held in {VENUE} at {TIME}.",
            "The {E} moves to {VENUE} for the first time.",
            "The venue for the {E} is {VENUE}.",
        ),
        (
            ("Where is the {E}?", "VENUE"),
            ("Where will the {E} be held?", "VENUE"),
            ("Where does the {E} take place?", "VENUE"),
            ("What is the venue of the {E}?", "VENUE"),
        ),
    ),
    Fact(
        (
            "Tickets for the {E} cost {PRICE}.",
            "Entry to the {E} costs {PRICE} for adults.",
            "A ticket for the {E} is {PRICE}, and children go free.",
            "The {E} charges {PRICE} for a ticket.",
        ),
        (
            ("How much do tickets for the {E} cost?", "PRICE"),
            ("How much does a ticket cost?", "PRICE"),
            ("What is the price of a ticket for the {E}?", "PRICE"),
        ),
    ),
)

MOUNTAIN_FACTS = (
    Fact(
        (
            "{G} lies in {COUNTRY}.",
            "{G} is in the north of {COUNTRY}, close to the border.",
            "{G} is the highest peak in {COUNTRY}.",
            "Climbers travel to {COUNTRY} to reach {G}.",
        ),
        (
            ("In which country is {G}?", "COUNTRY"),
            ("Where is {G}?", "COUNTRY"),
            ("Which country is {G} in?", "COUNTRY"),
        ),
    ),
    Fact(
        (
            "{G} rises to {ELEV}.",
            "The summit of {G} is {ELEV} above sea level.",
            "{G} is {ELEV} high and covered in snow all year.",
            "At {ELEV}, {G} towers over the valley.",
        ),
        (
            ("How high is {G}?", "ELEV"),
            ("What is the height of {G}?", "ELEV"),
            ("How tall is {G}?", "ELEV"),
        ),
    ),
    Fact(
        (
            "{G} was first climbed by {P2} in {YEAR}.",
            "In {YEAR}, {P2} became the first person to reach the top of {G}.",
            "The first ascent of {G} was made by {P2} in {YEAR}.",
            "{P2} reached the summit of {G} first, in {YEAR}.",
        ),
        (
            ("Who first climbed {G}?", "P2"),
            ("When was {G} first climbed?", "YEAR"),
            ("Who was the first to reach the top of {G}?", "P2"),
            ("In what year did someone first reach the top of {G}?", "YEAR"),
        ),
    ),
)

RIVER_FACTS = (
    Fact(
        (
            "The {R} flows into {WATER}.",
            "After passing {CITY}, the {R} empties into {WATER}.",
            "The {R} runs for many miles until it reaches {WATER}.",
            "The {R} ends in {WATER}, far to the south.",
        ),
        (
            ("Where does the {R} flow into?", "WATER"),
            ("Into what does the {R} flow?", "WATER"),
            ("What does the {R} flow into?", "WATER"),
        ),
    ),
    Fact(
        (
            "The {R} flows through {NUMWORD} {REGIONS}.",
            "On its way to the sea, the {R} passes through {NUMWORD} {REGIONS}.",
            "The {R} crosses {NUMWORD} {REGIONS} before it reaches {WATER}.",
            "There are {NUMWORD} {REGIONS} along the course of the {R}.",
        ),
        (
            ("How many {REGIONS} does the {R} flow through?", "NUMWORD"),
            ("Through how many {REGIONS} does the {R} pass?", "NUMWORD"),
            ("How many {REGIONS} lie along the {R}?", "NUMWORD"),
        ),
    ),
    Fact(
        (
            "The {R} is {LENGTH} long.",
            "The {R} stretches for {LENGTH} through {COUNTRY}.",
            "With a length of {LENGTH}, the {R} is the longest river in {COUNTRY}.",
            "The {R} covers {LENGTH} from its source to the sea.",
        ),
        (
            ("How long is the {R}?", "LENGTH"),
            ("What is the length of the {R}?", "LENGTH"),
            ("How far does the {R} run?", "LENGTH"),
        ),
    ),
)

KIND_FACTS = {
    "person": PERSON_FACTS,
    "daily": DAILY_FACTS,
    "thing": THING_FACTS,
    "company": COMPANY_FACTS,
    "event": EVENT_FACTS,
    "mountain": MOUNTAIN_FACTS,
    "river": RIVER_FACTS,
}
KINDS = ["person", "daily", "daily", "thing", "company", "event", "event", "mountain", "river"]
# How each kind's subject opens a sentence; after the first mention "It" may stand for it.
SUBJECT_OPENING = {"thing": "The {B} ", "event": "The {E} ", "company": "{C} ", "river": "The {R} "}

# Sentences that answer nothing, mixed into contexts as distractors.
FILLERS = (
    "It was a cold morning.",
    "Many people still remember that day.",
    "The weather that year was unusually warm.",
    "Local newspapers wrote about it for weeks.",
    "Nobody expected what happened next.",
    "The story is told in many schools.",
    "Photos from that time are kept in the city archive.",
    "A second visit is planned for next year, when the roads will be repaired.",
    "The nearest station is a short walk away.",
)

_SLOT = re.compile(r"\{([A-Z0-9_]+)\}")
_NUMWORDS = [
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "twenty",
    "forty",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _number(rng: random.Random, low: int, high: int) -> str:
    """A count in digits (with a thousands comma) or, when small, sometimes in words."""
    value = rng.randint(low, high)
    if value <= 12 and rng.random() < 0.5:
        return _NUMWORDS[value - 2] if value >= 2 else "one"
    return f"{value:,}"


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _time(rng: random.Random) -> str:
    hour = rng.randint(1, 11)
    return rng.choice(
        [
            f"{_NUMWORDS[hour - 2] if hour >= 2 else 'one'} o'clock",
            f"half past {hour}",
            f"{hour}:{rng.choice(['00', '15', '30', '45'])}",
            f"{hour} {rng.choice(['am', 'pm'])}",
            f"{hour}.30 in the {rng.choice(['morning', 'evening'])}",
            "noon",
        ]
    )


def _name(rng: random.Random, k: int, first: int) -> str:
    """A full name, sometimes with a title in front ("Dr. Anna Keller")."""
    name = f"{FIRST[k][first]} {rng.choice(LAST[k])}"
    return f"{rng.choice(TITLE)} {name}" if rng.random() < 0.12 else name


def _values(rng: random.Random, test: bool) -> dict[str, str]:
    k = 1 if test else 0

    def pick(pool: tuple[list[str], list[str]]) -> str:
        return rng.choice(pool[k])

    first, second = rng.sample(range(len(FIRST[k])), 2)
    city, city2 = rng.sample(CITY[k], 2)
    year = rng.randint(1820, 2022)
    art, made = rng.choice(ART)
    place = pick(PLACE_NAME)
    return {
        "S": _name(rng, k, first),
        "P2": _name(rng, k, second),
        "YEAR": str(year),
        "DATE": f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {year}",
        "CITY": city,
        "CITY2": city2,
        "COUNTRY": pick(COUNTRY),
        "COMPANY": pick(COMPANY),
        "C": pick(COMPANY),
        "JOB": pick(JOB),
        "PRODUCT": pick(PRODUCT),
        "B": f"{pick(BUILDING_NAME)} {pick(BUILDING)}",
        "E": f"{pick(BUILDING_NAME)} {pick(EVENT)}",
        "G": f"Mount {place}",
        "R": f"{place} river",
        "WATER": rng.choice(["the {} Sea", "Lake {}", "the Bay of {}"]).format(pick(PLACE_NAME)),
        "REGIONS": rng.choice(REGIONS),
        "POSITION": pick(POSITION),
        "SPORT": rng.choice(SPORT_TEAM),
        "BOOK": pick(BOOK),
        "NUM": str(rng.randint(2, 30)),
        "NUMWORD": rng.choice(NUMWORD),
        "COUNT": _number(rng, 2, 400),
        "PRICE": rng.choice(["{} dollars", "{} euros", "{} pounds"]).format(_number(rng, 2, 900)),
        "HEIGHT": f"{rng.randint(20, 400)} metres",
        "ELEV": f"{rng.randint(1200, 8800):,} {rng.choice(['metres', 'metres', 'feet'])}",
        "LENGTH": f"{_number(rng, 40, 3000)} {rng.choice(['kilometres', 'miles'])}",
        "DURATION": f"{_number(rng, 2, 60)} years",
        "DELAY": f"{_number(rng, 2, 50)} {rng.choice(['hours', 'minutes', 'days'])}",
        "TIME": _time(rng),
        "VENUE": f"the {rng.choice(VENUE_ADJ)} {pick(VENUE_PLACE)} on {pick(BUILDING_NAME)} "
        + rng.choice(STREET),
        "GOODS": pick(GOODS),
        "FIELD": pick(FIELD),
        "ANIMALS": pick(ANIMALS),
        "TRANSPORT": rng.choice(TRANSPORT),
        "REASON": pick(REASON),
        "PLURAL": pick(PLURAL),
        "RELATIVE": rng.choice(RELATIVE),
        "OCCASION": rng.choice(OCCASION),
        "WEEKDAY": rng.choice(WEEKDAYS),
        "ART": art,
        "MADE": made,
        "MADE_Q": "painted" if made == "painted" else "drew",
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
    text += template[pos:]
    return text[:1].upper() + text[1:], spans


def _subject_forms(rng: random.Random, values: dict[str, str], kind: str, test: bool) -> None:
    """Pronouns for a person subject, which may be a role ("my aunt") instead of a name;
    noun phrases whose determiner or adjective depends on them."""
    she = rng.random() < 0.5
    values["SQ"] = values["S"]
    if kind in ("person", "daily") and rng.random() < 0.2:
        role, pronoun = rng.choice(ROLE[1 if test else 0])
        values["S"], values["SQ"] = f"{rng.choice(['my', 'our'])} {role}", f"the {role}"
        she = pronoun == "she"
    values["PRON"], values["POSS"] = ("she", "her") if she else ("he", "his")
    values["SUBJ"] = "She" if she else "He"
    k = 1 if test else 0

    def phrase(noun: str, possessive: bool) -> str:
        describe = rng.random()
        if describe < 0.35:
            noun = f"{rng.choice(COLOUR[k])} {noun}"
        elif describe < 0.6:
            noun = f"{rng.choice(ADJ[k])} {noun}"
        if possessive and rng.random() < 0.5:
            return f"{values['POSS']} {noun}"
        return f"{_article(noun)} {noun}"

    values["OBJNP"] = phrase(rng.choice(OBJECT[k]), possessive=False)
    values["GIFT"] = phrase(rng.choice(OBJECT[k] + ITEM[k]), possessive=False)
    values["VEHNP"] = phrase(rng.choice(VEHICLE[k]), possessive=True)
    values["POSSITEM"] = f"{values['POSS']} {rng.choice(ITEM[k])}"


def _question(rng: random.Random, template: str, values: dict[str, str], kind: str) -> str:
    """The question; about a person it may say "she" or "his" where the context named them."""
    if kind in ("person", "daily") and not template.startswith("{S}") and rng.random() < 0.15:
        template = template.replace("{S}'s", "{POSS}").replace("{S}", "{PRON}")
    text, _ = _render(template, {**values, "S": values["SQ"]})
    return text


def qa_example(rng: random.Random, test: bool) -> dict[str, object]:
    """One context with one question about it and the answer's character span."""
    kind = rng.choice(KINDS)
    facts = KIND_FACTS[kind]
    values = _values(rng, test)
    _subject_forms(rng, values, kind, test)
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
    opening = SUBJECT_OPENING.get(kind)
    for template, index in sentences:
        if "{SR}" in template:
            # The first mention names the subject; later ones may be a pronoun.
            use_pronoun = named and kind in ("person", "daily") and rng.random() < 0.6
            template = template.replace("{SR}", "{SUBJ}" if use_pronoun else "{S}")
        elif opening and named and template.startswith(opening) and rng.random() < 0.4:
            template = "It " + template[len(opening) :]
        if "{S}" in template or (opening and opening.strip() in template):
            named = True
        text, spans = _render(template, values)
        if index == asked:
            start, end = spans[slot]
            answer_span = (len(context) + start, len(context) + end)
        context += text + " "
    question = _question(rng, question_template, values, kind)
    context = context.rstrip()
    start, end = answer_span
    return {"context": context, "question": question, "answer": context[start:end], "start": start}


def build_qa(split: str, size: int) -> list[dict[str, object]]:
    """``size`` rows of {"context", "question", "answer", "start"} for ``split`` (train/test)."""
    rng = random.Random(f"{SEED}-{split}")
    return [qa_example(rng, split == "test") for _ in range(size)]
