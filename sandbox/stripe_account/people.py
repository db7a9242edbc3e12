"""Who the customers are: names, countries, currencies, tax and acquisition channel."""

from __future__ import annotations

import random

from nrr.sandbox.stripe_account.catalog import Catalog
from nrr.sandbox.stripe_account.records import TaxRate

COUNTRIES = (
    # country, weight, currency, tax rate key options, cities
    (
        "US",
        55,
        "usd",
        ("US-NY", "US-CA", "US-TX"),
        ("New York", "San Francisco", "Austin", "Seattle", "Chicago", "Boston"),
    ),
    ("GB", 12, "gbp", ("GB",), ("London", "Manchester", "Bristol")),
    ("DE", 8, "eur", ("DE",), ("Berlin", "Munich", "Hamburg")),
    ("FR", 6, "eur", ("FR",), ("Paris", "Lyon")),
    ("NL", 4, "eur", ("NL",), ("Amsterdam", "Utrecht")),
    ("CA", 6, "cad", ("CA",), ("Toronto", "Vancouver", "Montreal")),
    ("AU", 5, "usd", (), ("Sydney", "Melbourne")),
    ("IE", 2, "eur", (), ("Dublin",)),
    ("SE", 2, "eur", (), ("Stockholm",)),
)
US_STATES = {
    "New York": "NY",
    "San Francisco": "CA",
    "Austin": "TX",
    "Seattle": "WA",
    "Chicago": "IL",
    "Boston": "MA",
}
CHANNELS = (("inbound", 45), ("outbound", 25), ("partner", 15), ("referral", 15))
SEGMENTS = (("SMB", 70), ("Mid-Market", 24), ("Enterprise", 6))
_FIRST = (
    "Blue",
    "North",
    "Bright",
    "Iron",
    "Swift",
    "Silver",
    "Quiet",
    "Red",
    "Green",
    "Atlas",
    "Nova",
    "Pine",
    "Delta",
    "Harbor",
    "Summit",
    "Cedar",
    "Lumen",
    "Vector",
)
_SECOND = (
    "Labs",
    "Works",
    "Systems",
    "Analytics",
    "Logistics",
    "Health",
    "Capital",
    "Robotics",
    "Media",
    "Foods",
    "Energy",
    "Software",
    "Studio",
    "Networks",
    "Bio",
)
_SUFFIX = ("Inc.", "LLC", "Ltd", "GmbH", "SAS", "BV", "Corp.", "Group")


def weighted(rng: random.Random, options: tuple[tuple, ...]) -> tuple:
    total = sum(option[1] for option in options)
    point = rng.random() * total
    for option in options:
        point -= option[1]
        if point < 0:
            return option
    return options[-1]


class Profile:
    """The customer's fixed traits, drawn once at arrival."""

    __slots__ = (
        "address",
        "channel",
        "country",
        "currency",
        "email",
        "name",
        "segment",
        "tax_exempt",
        "tax_rate",
    )

    def __init__(self, rng: random.Random, catalog: Catalog, index: int) -> None:
        self.segment = weighted(rng, SEGMENTS)[0]
        country, _, currency, tax_keys, cities = weighted(rng, COUNTRIES)
        self.country, self.currency = country, currency
        self.channel = weighted(rng, CHANNELS)[0]
        word = rng.choice(_FIRST) + " " + rng.choice(_SECOND)
        self.name = f"{word} {rng.choice(_SUFFIX)}"
        self.email = f"billing+{index}@{word.lower().replace(' ', '')}.example"
        city = rng.choice(cities)
        state = US_STATES.get(city) if country == "US" else None
        self.address = {
            "city": city,
            "country": country,
            "line1": f"{rng.randint(1, 999)} Main Street",
            "line2": None,
            "postal_code": f"{rng.randint(10000, 99999)}",
            "state": state,
        }
        self.tax_rate: TaxRate | None = None
        self.tax_exempt = "none"
        key = f"US-{state}" if country == "US" else (tax_keys[0] if tax_keys else None)
        if key in catalog.tax_rates and (country != "US" or rng.random() < 0.8):
            if country in ("GB", "DE", "FR", "NL") and rng.random() < 0.45:
                self.tax_exempt = "reverse"  # B2B reverse charge: no VAT on the invoice
            else:
                self.tax_rate = catalog.tax_rates[key]
        elif country in ("IE", "SE"):
            self.tax_exempt = "reverse"
