"""A generator of annotated financial-news sentences (TICKER, COMPANY, PERSON) for tests and the demo.

Output is Comprehend's entity-recognizer layout: ``documents.txt`` (one document per line) and
``annotations.csv`` (``File,Line,Begin Offset,End Offset,Type``, zero-based, end exclusive).

The data is made so that a model learns from context, not from memorised names: company and person
names are combined from large pools (a test set mostly holds names never seen in training), tickers are
random upper-case strings, and the sentences carry distractors (``CEO``, ``IPO``, ``US``, ``Fed``, months,
person-like company names such as ``Morgan Brothers``). More data gives a better model, and
:func:`mislabel` makes a batch that really hurts (the types of its spans are swapped).

    python -m local.entitygen --documents 300 --seed 1 --out /tmp/upload   # writes the two files
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from dataclasses import dataclass
from pathlib import Path


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


TYPES = ("COMPANY", "PERSON", "TICKER")
HEADER = ("File", "Line", "Begin Offset", "End Offset", "Type")

FIRST_NAMES = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
    "Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra "
    "Mark Ashley Donald Kimberly Steven Emily Paul Donna Andrew Michelle Joshua Carol Kenneth Amanda "
    "Kevin Melissa Brian Deborah George Stephanie Timothy Rebecca Ronald Sharon Jason Laura Edward "
    "Cynthia Jeffrey Amy Ryan Kathleen Jacob Angela Gary Shirley Nicholas Anna Eric Brenda Jonathan "
    "Pamela Stephen Emma Priya Wei Hiroshi Ingrid Mateo Amara Olusegun Sofia Lars Yuki Rafael Fatima "
    "Dmitri Chloe Aarav Ines"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
    "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Okafor Tanaka Schmidt Rossi Kowalski Novak "
    "Lindqvist Haddad Chen Patel Kim Dubois Moreau Costa Silva Ivanova Fischer Weber Jensen Murphy OBrien "
    "Sato Suzuki Mehta Banerjee Kruger Berg"
)
COMPANY_HEADS = _words(
    "Northwind Bluestone Redwood Silverline Ironbridge Harborview Summit Crescent Pinnacle Evergreen "
    "Granite Horizon Lakeshore Meridian Oakridge Riverstone Sterling Westfield Brightwater Cobalt Falcon "
    "Keystone Lighthouse Maple Nimbus Orion Pioneer Quantum Sapphire Titan Vantage Zenith Aurora Beacon "
    "Cedar Delta Everest Frontier Glacier Helix Indigo Juniper Kestrel Lumen Magnolia Nova Onyx Polaris"
)
COMPANY_SECTORS = _words(
    "Energy Capital Pharmaceuticals Systems Semiconductor Logistics Foods Motors Biotech Networks "
    "Robotics Airlines Mining Insurance Software Telecom Retail Materials Therapeutics Analytics"
)
COMPANY_SUFFIXES = ("Inc.", "Corp.", "Holdings", "Group", "plc", "Ltd.", "Co.", "")
PERSON_LIKE_COMPANIES = (
    "Morgan Brothers",
    "Hayes & Clark",
    "Whitman Partners",
    "Fischer Weber",
    "Sato Partners",
)
EXCHANGES = ("NYSE", "Nasdaq", "NASDAQ", "LSE", "TSX")
TITLES = (
    "chief executive",
    "CEO",
    "chief financial officer",
    "CFO",
    "chairman",
    "president",
    "founder",
    "head of research",
    "an analyst",
    "a portfolio manager",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
MONTHS = ("January", "March", "May", "July", "September", "November")
MOVES = ("rose", "fell", "jumped", "slipped", "climbed", "dropped", "surged", "edged lower")

# {C} company, {P} person, {T} ticker, {X} exchange; the rest is filled from the pools above.
TEMPLATES = (
    "Shares of {C} ({X}: {T}) {move} {pct}% on {day} after {P}, its {title}, raised guidance.",
    "{P}, {title} of {C}, said the company expects revenue to grow in {month}.",
    "{C} {move} {pct}% in early trading; {P} told investors the US outlook remains uncertain.",
    "Analysts at {C2} upgraded {C} ({T}) to buy, citing a strong quarter.",
    "{T} {move} {pct}% as {C} announced a {amount} billion buyback.",
    "{P} will step down as {title} of {C} in {month}, the company said on {day}.",
    "In a note, {P} of {C2} said {T} looks cheap after the IPO.",
    "{C} agreed to buy {C2} for {amount} billion dollars, {P} said.",
    "The Fed decision weighed on {T} and {T2}, while {C} held steady.",
    "{P} bought 20,000 shares of {C} ({X}: {T}), a filing showed.",
    "{C} ({T}) beat estimates; CEO {P} credited cost cuts.",
    "Investors sold {T} after {P} warned of weaker demand in {month}.",
    "{C} named {P} as its new {title} on {day}.",
    "According to {P}, {C} and {C2} are in talks about a merger.",
    "{T} and {T2} led the ETF higher, {P} of {C2} noted.",
    "Quarterly profit at {C} {move} as {P} cut prices, shares ({T}) were flat.",
)


@dataclass(frozen=True)
class Document:
    """One sentence and its entity spans ``(begin, end, type)``, character offsets, end exclusive."""

    text: str
    spans: tuple[tuple[int, int, str], ...]


def _person(rng: random.Random) -> str:
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    return f"{name[0]}. {name.split(' ', 1)[1]}" if rng.random() < 0.1 else name


def _company(rng: random.Random) -> str:
    if rng.random() < 0.08:
        return rng.choice(PERSON_LIKE_COMPANIES)
    head = rng.choice(COMPANY_HEADS)
    parts = [head] if rng.random() < 0.2 else [head, rng.choice(COMPANY_SECTORS)]
    suffix = rng.choice(COMPANY_SUFFIXES)
    return " ".join([*parts, suffix]).strip()


def _ticker(rng: random.Random) -> str:
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randint(2, 5)))


def _fill(template: str, rng: random.Random) -> Document:
    entities = {
        "C": ("COMPANY", _company(rng)),
        "C2": ("COMPANY", _company(rng)),
        "P": ("PERSON", _person(rng)),
        "T": ("TICKER", _ticker(rng)),
        "T2": ("TICKER", _ticker(rng)),
    }
    words = {
        "X": rng.choice(EXCHANGES),
        "move": rng.choice(MOVES),
        "pct": f"{rng.randint(1, 19)}.{rng.randint(0, 9)}",
        "day": rng.choice(DAYS),
        "month": rng.choice(MONTHS),
        "title": rng.choice(TITLES),
        "amount": f"{rng.randint(1, 40)}.{rng.randint(1, 9)}",
    }
    text, spans, rest = "", [], template
    while "{" in rest:
        before, _, after = rest.partition("{")
        key, _, rest = after.partition("}")
        text += before
        if key in entities:
            type_, value = entities[key]
            spans.append((len(text), len(text) + len(value), type_))
            text += value
        else:
            text += words[key]
    text += rest
    return Document(text, tuple(spans))


def generate(count: int, *, seed: int = 0) -> list[Document]:
    """``count`` annotated sentences (every template in turn, so each type appears in most documents)."""
    rng = random.Random(seed)
    order = list(TEMPLATES)
    documents: list[Document] = []
    while len(documents) < count:
        rng.shuffle(order)
        documents.extend(_fill(t, rng) for t in order[: count - len(documents)])
    return documents


def mislabel(documents: list[Document], *, seed: int = 0) -> list[Document]:
    """The same sentences with wrong types: COMPANY → PERSON → TICKER → COMPANY (a harmful batch)."""
    del seed  # deterministic: the rotation is what makes the batch harmful
    rotate = {"COMPANY": "PERSON", "PERSON": "TICKER", "TICKER": "COMPANY"}
    return [Document(d.text, tuple((b, e, rotate[t]) for b, e, t in d.spans)) for d in documents]


def weak_start(count: int = 45, *, seed: int = 1) -> list[Document]:
    """A first batch that trains a clearly imperfect recognizer: a third of its documents mislabelled, so a
    clean batch after it is better beyond chance (the engine learns the generated data from few documents)."""
    clean = generate(count - count // 3, seed=seed)
    return clean + mislabel(generate(count // 3, seed=seed + 1000))


def to_files(documents: list[Document], *, documents_file: str = "documents.txt") -> tuple[bytes, bytes]:
    """(documents.txt, annotations.csv) bytes in Comprehend's layout."""
    text = "".join(d.text + "\n" for d in documents).encode("utf-8")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for line, document in enumerate(documents):
        for begin, end, type_ in document.spans:
            writer.writerow((documents_file, line, begin, end, type_))
    return text, out.getvalue().encode("utf-8")


def type_counts(documents: list[Document]) -> dict[str, int]:
    counts = dict.fromkeys(TYPES, 0)
    for document in documents:
        for _, _, type_ in document.spans:
            counts[type_] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write annotated financial news in Comprehend's layout.")
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mislabel", action="store_true", help="swap the entity types (a harmful batch)")
    parser.add_argument("--out", type=Path, required=True, help="folder for documents.txt + annotations.csv")
    args = parser.parse_args(argv)
    documents = generate(args.documents, seed=args.seed)
    if args.mislabel:
        documents = mislabel(documents)
    args.out.mkdir(parents=True, exist_ok=True)
    text, annotations = to_files(documents)
    (args.out / "documents.txt").write_bytes(text)
    (args.out / "annotations.csv").write_bytes(annotations)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
