"""JSON schemas of the items, read as package data so they also load from a zipped egg (Scrapyd)."""

import json
from importlib.resources import files

LISTING = json.loads(files(__package__).joinpath("listing.json").read_text(encoding="utf-8"))
SELLER = json.loads(files(__package__).joinpath("seller.json").read_text(encoding="utf-8"))
