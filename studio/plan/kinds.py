"""What a noun names, from small hand-written word lists: a person, an animal, a vehicle, a celestial body,
a place or a time. The rules planner reads entity kinds, places and camera moves from it, and the
animatic draws a card's silhouette from it, so a dog is drawn as a dog wherever the planner calls it one.

Lists hold lemmas (singular); `noun_kind` takes any form ('dogs', 'Golden Retriever'). Breeds and
species name their kind by their head ('golden retriever' -> retriever -> animal).
"""

from __future__ import annotations

import re

PEOPLE = frozenset({
    "man", "woman", "boy", "girl", "child", "kid", "baby", "toddler", "teenager", "person", "people", "adult",
    "mother", "father", "mom", "mum", "dad", "parent", "son", "daughter", "brother", "sister", "twin", "sibling",
    "grandfather", "grandmother", "grandpa", "grandma", "grandson", "granddaughter", "grandparent", "uncle",
    "aunt", "cousin", "nephew", "niece", "husband", "wife", "bride", "groom", "couple", "family", "friend",
    "neighbour", "neighbor", "stranger", "guest", "owner", "host", "crowd", "audience", "team", "crew", "lady",
    "gentleman", "king", "queen", "prince", "princess", "knight", "squire", "wizard", "witch", "sorcerer", "monk",
    "nun", "priest", "pirate", "sailor", "soldier", "guard", "warrior", "hunter", "farmer", "fisherman", "chef",
    "cook", "baker", "butcher", "waiter", "waitress", "bartender", "barista", "teacher", "student", "pupil",
    "doctor", "nurse", "surgeon", "pilot", "driver", "astronaut", "scientist", "engineer", "detective", "police",
    "officer", "firefighter", "painter", "artist", "musician", "singer", "dancer", "actor", "actress", "writer",
    "poet", "climber", "hiker", "runner", "swimmer", "skier", "surfer", "cyclist", "skateboarder", "athlete",
    "player", "referee", "coach", "worker", "builder", "carpenter", "mechanic", "merchant", "vendor", "shopkeeper",
    "customer", "tourist", "traveler", "traveller", "explorer", "keeper", "gardener", "shepherd", "cowboy",
    "villager", "citizen", "passenger", "captain", "thief", "robber", "spy", "ninja", "samurai", "viking",
    "mermaid", "ghost", "angel", "giant", "dwarf", "elf", "fairy", "troll", "zombie", "vampire", "clown",
    "magician", "juggler", "photographer", "reporter", "lawyer", "judge", "boss", "clerk", "librarian", "monarch",
})
ANIMALS = frozenset({
    "dog", "puppy", "hound", "retriever", "labrador", "poodle", "terrier", "beagle", "corgi", "husky", "collie",
    "spaniel", "bulldog", "dachshund", "shepherd dog", "cat", "kitten", "kitty", "fox", "wolf", "bear", "lion",
    "tiger", "leopard", "cheetah", "panther", "jaguar", "horse", "pony", "foal", "donkey", "mule", "zebra",
    "deer", "fawn", "moose", "elk", "reindeer", "rabbit", "bunny", "hare", "squirrel", "chipmunk", "mouse", "rat",
    "hamster", "hedgehog", "raccoon", "badger", "otter", "beaver", "cow", "calf", "bull", "ox", "sheep", "lamb",
    "goat", "pig", "piglet", "camel", "llama", "alpaca", "elephant", "giraffe", "hippo", "rhino", "monkey", "ape",
    "gorilla", "chimpanzee", "panda", "koala", "kangaroo", "sloth", "bat", "dragon", "dinosaur", "unicorn",
    "monster", "frog", "toad", "lizard", "snake", "turtle", "tortoise", "crocodile", "alligator", "snail",
    "spider", "ant", "bee", "butterfly", "moth", "beetle", "ladybug", "caterpillar", "worm", "dragonfly",
    # birds
    "bird", "owl", "eagle", "hawk", "falcon", "parrot", "duck", "duckling", "goose", "swan", "chicken", "hen",
    "rooster", "chick", "crow", "raven", "pigeon", "dove", "sparrow", "robin", "seagull", "gull", "penguin",
    "flamingo", "stork", "heron", "hummingbird", "peacock", "ostrich", "pelican", "woodpecker", "kingfisher",
    # water animals
    "fish", "goldfish", "salmon", "trout", "shark", "whale", "dolphin", "seal", "walrus", "octopus", "squid",
    "jellyfish", "crab", "lobster", "starfish", "seahorse", "orca", "stingray",
})
BIRDS = frozenset({
    "bird", "owl", "eagle", "hawk", "falcon", "parrot", "duck", "duckling", "goose", "swan", "chicken", "hen",
    "rooster", "chick", "crow", "raven", "pigeon", "dove", "sparrow", "robin", "seagull", "gull", "penguin",
    "flamingo", "stork", "heron", "hummingbird", "peacock", "ostrich", "pelican", "woodpecker", "kingfisher",
    "butterfly", "moth", "bee", "dragonfly", "bat",
})
WATER_ANIMALS = frozenset({"fish", "goldfish", "salmon", "trout", "shark", "whale", "dolphin", "seal", "walrus",
                           "octopus", "squid", "jellyfish", "crab", "lobster", "starfish", "seahorse", "orca",
                           "stingray"})
VEHICLES = {  # lemma -> the family its silhouette is drawn from
    **dict.fromkeys(("car", "truck", "bus", "van", "taxi", "cab", "jeep", "tractor", "bike", "bicycle", "motorcycle",
                     "motorbike", "scooter", "train", "tram", "locomotive", "wagon", "cart", "carriage", "ambulance",
                     "limousine", "tank", "bulldozer", "skateboard", "sled", "sleigh", "trolley"), "car"),
    **dict.fromkeys(("boat", "ship", "sailboat", "yacht", "canoe", "kayak", "rowboat", "raft", "ferry", "submarine",
                     "steamboat", "gondola", "tugboat", "galleon", "vessel", "barge", "dinghy", "lifeboat"), "boat"),
    **dict.fromkeys(("plane", "airplane", "aeroplane", "jet", "helicopter", "glider", "airship", "zeppelin",
                     "balloon", "drone", "biplane", "seaplane"), "plane"),
    **dict.fromkeys(("rocket", "spaceship", "spacecraft", "shuttle", "capsule", "satellite", "ufo", "starship"),
                    "rocket"),
}
# Things that move without acting: a subject of these is still an object ('a kite flies', 'a ball rolls').
THINGS = frozenset({"kite", "ball", "leaf", "clock", "lantern", "book", "box", "bottle", "flag", "feather", "key",
                    "letter", "coin", "cup", "bell", "alarm", "door", "window", "gate", "candle", "lamp", "rock",
                    "stone", "paper", "toy", "ribbon", "hat", "umbrella", "snowflake", "petal", "seed", "apple"})
CELESTIAL = frozenset({"sun", "moon", "planet", "star", "comet", "meteor", "asteroid", "earth", "mars", "venus",
                       "jupiter", "saturn", "galaxy", "nebula", "eclipse", "sunrise", "sunset"})
FEMALE = frozenset({"woman", "girl", "mother", "mom", "mum", "daughter", "sister", "grandmother", "grandma",
                    "granddaughter", "aunt", "niece", "wife", "bride", "queen", "princess", "lady", "actress",
                    "waitress", "witch", "mermaid", "nun", "hen", "cow", "she", "her", "herself"})
MALE = frozenset({"man", "boy", "father", "dad", "son", "brother", "grandfather", "grandpa", "grandson", "uncle",
                  "nephew", "husband", "groom", "king", "prince", "gentleman", "monk", "priest", "bull", "rooster",
                  "he", "him", "his", "himself"})

PLACE_WORDS = frozenset({
    "forest", "woods", "jungle", "city", "town", "village", "street", "road", "alley", "market", "beach", "shore",
    "coast", "sea", "ocean", "lake", "river", "pond", "waterfall", "mountain", "hill", "valley", "canyon", "desert",
    "field", "meadow", "farm", "garden", "park", "sky", "space", "moon", "planet", "room", "kitchen", "bedroom",
    "office", "house", "home", "castle", "palace", "temple", "church", "cave", "den", "tunnel", "station", "airport",
    "harbor", "harbour", "port", "bridge", "rooftop", "stage", "studio", "library", "classroom", "school", "cafe",
    "restaurant", "bar", "shop", "store", "mall", "lab", "laboratory", "factory", "warehouse", "arena", "stadium",
    "island", "cliff", "glacier", "swamp", "marsh", "savanna", "prairie", "reef", "highway", "square", "plaza",
    "courtyard", "hallway", "corridor", "attic", "basement", "garage", "spaceship", "galaxy", "universe", "seabed",
    "volcano", "dune", "snowfield", "countryside", "pier", "dock", "shipyard", "skyline", "rainforest", "orchard",
    "vineyard", "ruin", "greenhouse", "junkyard", "porch", "stair", "staircase", "balcony", "lighthouse", "tower",
    "storm", "rain", "snow", "fog", "mist", "horizon", "surface", "water", "bay", "path", "trail",
    "neighborhood", "neighbourhood", "subway", "workshop", "bakery", "hospital", "museum", "theater",
    "theatre", "gym", "pool", "yard", "backyard", "campsite", "camp", "cabin", "hut", "barn", "stream",
    "lagoon", "tundra", "wasteland", "metropolis", "downtown", "alleyway", "sidewalk", "crosswalk", "dancefloor",
    "sand", "grass", "mud", "ice", "puddle", "darkness", "moonlight", "sunlight", "summit", "peak", "ridge",
    "slope", "clearing", "lawn", "terrace", "ballroom", "hall", "lodge", "hotel", "platform", "deck", "cellar",
    "chapel", "cathedral", "throne room", "plain", "plateau", "riverbank", "grove",
    "creek", "fjord", "gorge", "quarry", "arcade", "cinema", "diner", "pub", "inn", "motel",
    "apartment", "loft", "playground", "schoolyard", "churchyard", "cemetery", "graveyard",
    "marketplace", "bazaar", "harbourside", "waterfront", "boardwalk", "promenade",
})
# Places seen from afar: a move there is a pan across it, not a close tracking shot.
WIDE_PLACES = frozenset({"sky", "space", "ocean", "sea", "desert", "valley", "mountain", "canyon", "countryside",
                         "prairie", "savanna", "tundra", "horizon", "skyline", "galaxy", "universe", "glacier",
                         "field", "meadow", "plain", "plateau", "bay", "coast", "lake", "island", "volcano", "dune",
                         "city", "metropolis", "forest", "jungle", "rainforest", "cloud", "clouds"})
TIME_WORDS = frozenset({"dawn", "dusk", "night", "midnight", "noon", "sunrise", "sunset", "twilight", "morning",
                        "evening", "afternoon", "daybreak", "nightfall", "daytime", "nighttime", "winter", "summer",
                        "autumn", "spring"})
CLOTHING = frozenset({"coat", "dress", "suit", "jacket", "hat", "cloak", "robe", "armor", "armour", "uniform",
                      "scarf", "hood", "hoodie", "shirt", "sweater", "boots", "gown", "cape", "helmet", "glasses",
                      "apron", "overalls", "kimono", "raincoat", "mask"})
FEATURES = frozenset({"hair", "beard", "mustache", "moustache", "eyes", "wings", "tail", "horns", "fur", "feathers",
                      "scales", "freckles", "tattoos", "antlers", "spots", "stripes", "wing", "eye", "horn", "feather",
                      "tattoo", "antler", "spot", "stripe"})


def _lemma(word: str) -> str:
    from studio.plan.lexicon import singular

    low = word.lower()
    known = PEOPLE | ANIMALS | CELESTIAL | THINGS | VEHICLES.keys()
    if low in known:
        return low
    lemma = singular(low)
    return low[:-1] if lemma == low and low.endswith("s") and low[:-1] in known else lemma  # 'seagulls'



def head_lemma(words: list[str] | str) -> str:
    """The lemma of the phrase's head noun ('golden retrievers' -> 'retriever', 'loaf of bread' -> 'loaf')."""
    if isinstance(words, str):
        words = re.findall(r"[A-Za-z][A-Za-z'-]*", words)
    lowered = [w.lower() for w in words]
    if "of" in lowered[1:]:
        words = words[:lowered.index("of")]
    return _lemma(words[-1]) if words else ""


def noun_kind(words: list[str] | str) -> str:
    """'person', 'animal', 'vehicle', 'celestial', 'thing', 'place' or '' for the noun phrase `words` (its head decides:
    'hot air balloon' -> vehicle, 'baby elephant' -> animal, 'dog owner' -> person)."""
    head = head_lemma(words)
    if not head:
        return ""
    for kind, lexicon in (("person", PEOPLE), ("animal", ANIMALS), ("vehicle", VEHICLES), ("celestial", CELESTIAL),
                          ("thing", THINGS)):
        if head in lexicon:
            return kind
    return "place" if head in PLACE_WORDS else ""


def gender(words: list[str] | str) -> str:
    """'female' or 'male' when the noun itself says so ('queen', 'grandson'), else ''."""
    if isinstance(words, str):
        words = words.split()
    lemmas = {_lemma(w) for w in words}
    return "female" if lemmas & FEMALE else "male" if lemmas & MALE else ""
