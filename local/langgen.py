"""Generated data for model lines: support tickets in several languages, and tickets with path labels.

``generate(n, lang)``: short tickets written in ``lang`` (en, es, fr, de, it, nl) from templates and
vocabularies written for this project, three topics (BILLING, SHIPPING, TECHNICAL), so that each language's
model learns its own words and a real language detector (the local DetectDominantLanguage) recognizes the
language. ``nl`` exists for the "no model for this language" path (Comprehend custom classification does
not train Dutch).

``taxonomy(n)``: the English tickets of :mod:`local.datagen` under a two-level taxonomy
(``ORDERS/BILLING``, ``ORDERS/SHIPPING``, ``ORDERS/RETURNS``, ``SERVICE/TECHNICAL``, ``SERVICE/ACCOUNT``).
"""

from __future__ import annotations

import random

from local import datagen
from local.datagen import Ticket

VOCAB: dict[str, dict[str, tuple[list[str], list[str], list[str]]]] = {
    # lang → topic → (subjects, what happened, when / where)
    "en": {
        "BILLING": (
            ["my invoice", "the refund", "my last payment", "the monthly fee"],
            ["was charged twice", "is still missing", "shows the wrong amount"],
            ["since last month", "on my credit card", "after I cancelled"],
        ),
        "SHIPPING": (
            ["my parcel", "the delivery", "my order", "the package"],
            ["has not arrived yet", "was sent to the wrong address", "is stuck somewhere"],
            ["since Monday", "according to the tracking page", "even with express shipping"],
        ),
        "TECHNICAL": (
            ["the app", "the website", "my login page", "the update"],
            ["keeps crashing", "shows an error message", "does not load at all"],
            ["on my phone", "every time I open it", "since the last update"],
        ),
    },
    "es": {
        "BILLING": (
            ["mi factura", "el reembolso", "mi último pago", "la cuota mensual"],
            ["se cobró dos veces", "todavía no ha llegado", "tiene un importe equivocado"],
            ["desde el mes pasado", "en mi tarjeta de crédito", "después de cancelar"],
        ),
        "SHIPPING": (
            ["mi paquete", "la entrega", "mi pedido", "el envío"],
            ["todavía no ha llegado", "fue enviado a otra dirección", "está atascado en algún sitio"],
            ["desde el lunes", "según la página de seguimiento", "aunque pagué el envío urgente"],
        ),
        "TECHNICAL": (
            ["la aplicación", "la página web", "mi cuenta", "la actualización"],
            ["se cierra sola", "muestra un mensaje de error", "no carga nunca"],
            ["en mi teléfono", "cada vez que la abro", "desde la última actualización"],
        ),
    },
    "fr": {
        "BILLING": (
            ["ma facture", "le remboursement", "mon dernier paiement", "l'abonnement mensuel"],
            ["a été débité deux fois", "n'est toujours pas arrivé", "affiche un montant incorrect"],
            ["depuis le mois dernier", "sur ma carte bancaire", "après ma résiliation"],
        ),
        "SHIPPING": (
            ["mon colis", "la livraison", "ma commande", "le paquet"],
            ["n'est toujours pas arrivé", "a été envoyé à la mauvaise adresse", "est bloqué quelque part"],
            ["depuis lundi", "d'après la page de suivi", "malgré la livraison express"],
        ),
        "TECHNICAL": (
            ["l'application", "le site internet", "mon compte", "la mise à jour"],
            ["plante sans arrêt", "affiche un message d'erreur", "ne se charge pas du tout"],
            ["sur mon téléphone", "chaque fois que je l'ouvre", "depuis la dernière mise à jour"],
        ),
    },
    "de": {
        "BILLING": (
            ["meine Rechnung", "die Rückerstattung", "meine letzte Zahlung", "die Monatsgebühr"],
            ["wurde doppelt abgebucht", "ist immer noch nicht da", "zeigt einen falschen Betrag"],
            ["seit letztem Monat", "von meiner Kreditkarte", "nach meiner Kündigung"],
        ),
        "SHIPPING": (
            ["mein Paket", "die Lieferung", "meine Bestellung", "die Sendung"],
            ["ist noch nicht angekommen", "wurde an die falsche Adresse geschickt", "hängt irgendwo fest"],
            ["seit Montag", "laut der Sendungsverfolgung", "trotz Expressversand"],
        ),
        "TECHNICAL": (
            ["die App", "die Webseite", "mein Konto", "das Update"],
            ["stürzt ständig ab", "zeigt eine Fehlermeldung", "lädt überhaupt nicht"],
            ["auf meinem Handy", "jedes Mal wenn ich sie öffne", "seit dem letzten Update"],
        ),
    },
    "it": {
        "BILLING": (
            ["la mia fattura", "il rimborso", "il mio ultimo pagamento", "il canone mensile"],
            ["è stato addebitato due volte", "non è ancora arrivato", "ha un importo sbagliato"],
            ["dal mese scorso", "sulla mia carta di credito", "dopo la disdetta"],
        ),
        "SHIPPING": (
            ["il mio pacco", "la consegna", "il mio ordine", "la spedizione"],
            [
                "non è ancora arrivato",
                "è stato spedito all'indirizzo sbagliato",
                "è bloccato da qualche parte",
            ],
            ["da lunedì", "secondo la pagina di tracciamento", "anche con la spedizione espressa"],
        ),
        "TECHNICAL": (
            ["l'applicazione", "il sito web", "il mio account", "l'aggiornamento"],
            ["si blocca di continuo", "mostra un messaggio di errore", "non si carica per niente"],
            ["sul mio telefono", "ogni volta che la apro", "dall'ultimo aggiornamento"],
        ),
    },
    "nl": {
        "BILLING": (
            ["mijn factuur", "de terugbetaling", "mijn laatste betaling"],
            ["is twee keer afgeschreven", "is nog steeds niet binnen"],
            ["sinds vorige maand", "van mijn creditcard"],
        ),
        "SHIPPING": (
            ["mijn pakket", "de bezorging", "mijn bestelling"],
            ["is nog niet aangekomen", "is naar het verkeerde adres gestuurd"],
            ["sinds maandag", "volgens de track en trace"],
        ),
        "TECHNICAL": (
            ["de app", "de website", "mijn account"],
            ["loopt steeds vast", "geeft een foutmelding"],
            ["op mijn telefoon", "sinds de laatste update"],
        ),
    },
}
OPENERS = {
    "en": ["Hello,", "Hi team,", "Please help:", "Good morning,"],
    "es": ["Hola,", "Buenos días,", "Por favor, ayúdenme:", "Hola equipo,"],
    "fr": ["Bonjour,", "Bonsoir,", "Aidez-moi s'il vous plaît :", "Madame, Monsieur,"],
    "de": ["Hallo,", "Guten Tag,", "Bitte helfen Sie mir:", "Sehr geehrte Damen und Herren,"],
    "it": ["Buongiorno,", "Salve,", "Per favore aiutatemi:", "Ciao,"],
    "nl": ["Hallo,", "Goedemorgen,", "Help me alstublieft:"],
}
CLOSERS = {
    "en": ["Thanks a lot.", "What can I do?", "Please fix this."],
    "es": ["Muchas gracias.", "¿Qué puedo hacer?", "Por favor, solucionadlo."],
    "fr": ["Merci beaucoup.", "Que dois-je faire ?", "Merci de corriger cela."],
    "de": ["Vielen Dank.", "Was kann ich tun?", "Bitte beheben Sie das."],
    "it": ["Grazie mille.", "Cosa posso fare?", "Per favore risolvete il problema."],
    "nl": ["Alvast bedankt.", "Wat kan ik doen?"],
}
LANGUAGES = sorted(VOCAB)
TAXONOMY = {
    "BILLING": "ORDERS",
    "SHIPPING": "ORDERS",
    "RETURNS": "ORDERS",
    "TECHNICAL": "SERVICE",
    "ACCOUNT": "SERVICE",
}


def ticket(label: str, lang: str, rng: random.Random) -> Ticket:
    subjects, events, details = VOCAB[lang][label]
    text = " ".join(
        [
            rng.choice(OPENERS[lang]),
            rng.choice(subjects),
            rng.choice(events),
            rng.choice(details) + ".",
            rng.choice(CLOSERS[lang]),
        ]
    )
    return Ticket(label, text)


def generate(n: int, lang: str, *, seed: int = 0) -> list[Ticket]:
    """``n`` tickets in ``lang``, balanced over the three topics."""
    rng = random.Random(f"{lang}-{seed}")
    labels = sorted(VOCAB[lang])
    out = [ticket(labels[i % len(labels)], lang, rng) for i in range(n)]
    rng.shuffle(out)
    return out


def taxonomy(n: int, *, seed: int = 0) -> list[Ticket]:
    """``n`` English tickets labelled ``PARENT/CHILD`` (:data:`TAXONOMY`)."""
    return [Ticket(f"{TAXONOMY[t.label]}/{t.label}", t.text) for t in datagen.generate(n, seed=seed)]


def sibling(parent: str, child: str) -> str:
    """A child of ``parent`` in :data:`TAXONOMY` other than ``child`` (a correction that keeps the parent)."""
    return next(c for c, p in TAXONOMY.items() if p == parent and c != child)
