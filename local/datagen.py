"""A generator of realistic labelled support tickets (the project's own data for tests and the demo).

Several categories with their own vocabulary, a shared pool of generic words and phrasings, typos,
and optional label noise, so that a model trained on more data really does better and a batch of
mislabelled rows really hurts.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass

TOPICS: dict[str, dict[str, list[str]]] = {
    "BILLING": {
        "nouns": [
            "invoice",
            "charge",
            "refund",
            "payment",
            "subscription",
            "receipt",
            "credit card",
            "bill",
            "statement",
            "fee",
            "discount",
            "tax",
            "plan price",
            "direct debit",
        ],
        "verbs": ["charged twice", "billed", "overcharged", "paid", "was debited", "got invoiced", "renewed"],
        "details": [
            "last month",
            "on my card",
            "without notice",
            "for the annual plan",
            "in euros",
            "after I cancelled",
            "with the wrong VAT",
        ],
    },
    "SHIPPING": {
        "nouns": [
            "parcel",
            "package",
            "delivery",
            "courier",
            "tracking number",
            "shipment",
            "box",
            "order",
            "address label",
            "warehouse",
            "carrier",
            "dispatch",
        ],
        "verbs": [
            "has not arrived",
            "was delayed",
            "got lost",
            "was left outside",
            "is stuck",
            "was shipped",
            "never showed up",
        ],
        "details": [
            "since Monday",
            "at the depot",
            "to the old address",
            "with express shipping",
            "according to tracking",
            "in customs",
            "by the courier",
        ],
    },
    "TECHNICAL": {
        "nouns": [
            "app",
            "login page",
            "error message",
            "update",
            "firmware",
            "browser",
            "server",
            "sync",
            "dashboard",
            "API",
            "installer",
            "notification",
            "screen",
        ],
        "verbs": [
            "crashes",
            "keeps freezing",
            "shows an error",
            "will not load",
            "stopped working",
            "times out",
            "is very slow",
        ],
        "details": [
            "after the update",
            "on Android",
            "on my laptop",
            "with error 500",
            "every morning",
            "since version 2.3",
            "when I upload files",
        ],
    },
    "ACCOUNT": {
        "nouns": [
            "password",
            "account",
            "username",
            "email address",
            "profile",
            "two-factor code",
            "security question",
            "login",
            "settings",
            "membership",
        ],
        "verbs": [
            "cannot reset",
            "is locked",
            "was hacked",
            "needs changing",
            "got deleted",
            "is not verified",
            "cannot be accessed",
        ],
        "details": [
            "after too many attempts",
            "since yesterday",
            "on the new phone",
            "for my team",
            "without my permission",
            "from abroad",
        ],
    },
    "RETURNS": {
        "nouns": [
            "return",
            "exchange",
            "item",
            "size",
            "return label",
            "damaged product",
            "replacement",
            "faulty unit",
            "wrong colour",
            "warranty",
        ],
        "verbs": [
            "want to return",
            "need to exchange",
            "arrived broken",
            "does not fit",
            "is defective",
            "was the wrong model",
            "must send back",
        ],
        "details": [
            "within 30 days",
            "with the original box",
            "for store credit",
            "under warranty",
            "as soon as possible",
            "for a larger size",
        ],
    },
}
GENERIC = [
    "hi",
    "hello",
    "please help",
    "thanks",
    "urgent",
    "as soon as possible",
    "I am frustrated",
    "this is the second time",
    "can you check",
    "any update",
    "kind regards",
    "order 4471",
    "customer since 2019",
    "I tried everything",
    "what should I do",
    "not happy",
]
TEMPLATES = [
    "{g1}, my {n} {v} {d}.",
    "The {n} {v} {d}. {g2}",
    "{g1} - {n} {v}, {g2}",
    "Why {v2} my {n} {d}? {g2}",
    "I {v} ... the {n} {d}, {g1}",
    "{n} {v} {d}; also the {n2} {v2}. {g1}",
    "{g1} {g2} {n} {d}",
]


@dataclass(frozen=True)
class Ticket:
    label: str
    text: str


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5 or rng.random() > 0.08:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def ticket(label: str, rng: random.Random, *, blur: float = 0.25) -> Ticket:
    """One ticket of ``label``; with probability ``blur`` a second clause borrows another topic's words."""
    topic = TOPICS[label]
    other = TOPICS[rng.choice([t for t in TOPICS if t != label])] if rng.random() < blur else topic
    text = rng.choice(TEMPLATES).format(
        n=rng.choice(topic["nouns"]),
        v=rng.choice(topic["verbs"]),
        d=rng.choice(topic["details"]),
        n2=rng.choice(other["nouns"]),
        v2=rng.choice(other["verbs"]),
        g1=rng.choice(GENERIC),
        g2=rng.choice(GENERIC),
    )
    text = " ".join(_typo(w, rng) for w in text.split())
    return Ticket(label, text[0].upper() + text[1:])


def generate(
    n: int, *, seed: int = 0, noise: float = 0.0, labels: list[str] | None = None, blur: float = 0.25
) -> list[Ticket]:
    """``n`` tickets, balanced over ``labels``; a fraction ``noise`` gets a wrong label at random."""
    rng = random.Random(seed)
    labels = labels or sorted(TOPICS)
    out = []
    for i in range(n):
        item = ticket(labels[i % len(labels)], rng, blur=blur)
        if noise and rng.random() < noise:
            item = Ticket(rng.choice([lab for lab in labels if lab != item.label]), item.text)
        out.append(item)
    rng.shuffle(out)
    return out


def mislabel(tickets: list[Ticket], *, seed: int = 0) -> list[Ticket]:
    """A harmful batch: every label systematically swapped for the next one."""
    labels = sorted({t.label for t in tickets})
    shift = {lab: labels[(i + 1) % len(labels)] for i, lab in enumerate(labels)}
    return [Ticket(shift[t.label], t.text) for t in tickets]


def to_csv(tickets: list[Ticket]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for item in tickets:
        writer.writerow([item.label, item.text])
    return buffer.getvalue().encode()
