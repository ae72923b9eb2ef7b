"""Writes tests/data/pii_eval.jsonl: the labelled set that benchmarks/bench_pii.py and
tests/test_pii_precision.py measure PII detection on.

Every name is drawn from the lists below, written for this file: given names and family names
paired at random, never a real person's record. Places are real cities, countries and regions
(a place is not personal data; a detector must still find it). The texts are business mail,
legal clauses, technical documentation and chat, written the way people write them: defined
terms capitalised in contracts, product names and acronyms in technical prose, headings,
first names alone in chat, titles (Ms., Dr.) before family names.

Schema, one JSON object a line:

    {"id": "legal-007", "domain": "business|legal|technical|chat", "text": "...",
     "entities": [{"type": "PERSON", "start": 12, "end": 24, "text": "Maria Keller"}, ...]}

``type`` is one of PERSON, LOCATION, EMAIL, PHONE, URL, IP_ADDRESS, IBAN, CREDIT_CARD;
``text == text[start:end]``. A PERSON span is the name without its title ("Dr. Okafor" is
labelled "Okafor"); a LOCATION span is the place name only ("the city of Porto": "Porto").
Sentences with no entity have ``"entities": []``.

Run ``python benchmarks/make_pii_eval.py`` to rewrite the file (seeded: same output each run).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path


def _names(words: str) -> tuple[str, ...]:
    return tuple(words.split())


OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "pii_eval.jsonl"

GIVEN = _names(
    "Maria Daniel Priya Tomasz Aisha Kenji Lucia Oliver Fatima Mateo Ingrid Samuel Chloe "
    "Rafael Nadia Henrik Amara Diego Sofia Jonas Leila Marcus Yuki Elena Kwame Hannah Arjun "
    "Beatriz Connor Mei Anouk Femi Rosalind Viktor Imani Bruno Saskia Tariq Greta Emeka"
)
FAMILY = _names(
    "Keller Okafor Lindqvist Ramirez Nakamura Brennan Kowalski Haddad Fischer Moreau Castillo "
    "Adeyemi Varga Sorensen Takahashi Whitfield Petrov Mendes Gallagher Osei Novak Iyer "
    "Delgado Hartmann Quinn Abernathy Szabo Achterberg Okonkwo Ferreira Lindgren Mbeki "
    "Ostrowski Villanueva Halloran Bergstrom"
)
CITIES = _names(
    "Lisbon Denver Rotterdam Nairobi Osaka Lyon Krakow Austin Manchester Porto Seattle "
    "Bangalore Toronto Melbourne Dublin Hamburg Valencia Accra Montreal Edinburgh Boise Gdansk "
    "Leeds Tucson Utrecht Marseille Cork Adelaide Bilbao Wroclaw"
)
REGIONS = _names(
    "Portugal Kenya Canada Germany Brazil Japan Ireland Poland Mexico Norway India Ghana "
    "Spain Texas Ontario Bavaria California Scotland Colorado Queensland"
)
MAIL_HOSTS = ("mailbox.org", "fastmail.com", "outlook.com", "proton.me", "gmx.de")

# Templates with entities. Slots: {P} full name, {F} given name alone, {L} family name alone
# (after a title the template writes), {C} city, {R} country or region, {E} e-mail of the
# sentence's first person, {T} phone, {U} URL, {I} IP address. A slot may repeat with a digit
# ({P2}, {C2}) for a second, different value.
WITH_ENTITIES: dict[str, tuple[str, ...]] = {
    "business": (
        "Hi {F}, thanks for sending the Q3 forecast. Can we go through it on Thursday?",
        "Please welcome {P}, who joins the procurement team in our {C} office next Monday.",
        "Per my last email, the invoice for the {C} warehouse is still unpaid. "
        "Could you chase it, {F}?",
        "{P} ({E}) will be your account manager from 1 March.",
        "Minutes: {P} presented the churn numbers; {P2} asked for a breakdown by region.",
        "We are opening a second distribution centre near {C}, {R}, in the spring.",
        "Ms. {L} approved the budget, but finance wants the vendor contract signed first.",
        "Call {F} on {T} if the courier does not show up before noon.",
        "Our sales in {R} grew 14% year on year, driven mostly by the {C} stores.",
        "Cc'ing {P2} from legal, who drafted the original agreement with the supplier.",
        "The offsite is booked: flights to {C} on the 12th, hotel confirmation from {P}.",
        "Following up on yesterday's call with {P} about the delayed shipment.",
        "Reminder: expense reports go to {E} by Friday, not to the shared inbox.",
        "Mr. {L} from the {C} branch asked whether the price list includes VAT.",
    ),
    "legal": (
        'This Lease Agreement is made between {P} ("Landlord") and {P2} ("Tenant").',
        "The Premises are located in {C}, {R}, and shall be used for residential purposes only.",
        "Notices under this Agreement shall be sent to {P} at {E}.",
        "This Agreement shall be governed by the laws of {R}.",
        "Witnessed by {P}, notary public, in the city of {C}.",
        "The Employee, {P}, agrees not to solicit clients of the Company for twelve months.",
        "Any dispute shall be settled by arbitration seated in {C}.",
        "Signed for and on behalf of the Buyer by {P}, Director.",
        "Payments shall be made to the account of {P}, IBAN {IBAN}.",
        "The Tenant shall notify the Landlord, {P}, in writing of any needed repairs.",
        "Counsel for the plaintiff, Ms. {L}, filed the motion in the district court of {C}.",
        "The Disclosing Party, represented by {P}, shall mark all Confidential Information "
        "as such.",
    ),
    "technical": (
        "Thanks to {P} for reporting the memory leak in the connection pool.",
        "The build server in {C} is unreachable; its address is {I}.",
        "Maintainer: {P} <{E}>",
        "{F} fixed the flaky test by seeding the random generator in the fixture.",
        "Our primary region is in {R}, with a read replica in {C}.",
        "Reviewed-by: {P} <{E}>",
        "Ask {F} before changing the Kubernetes ingress rules; they broke the staging cluster "
        "last time.",
        "The latency from {C} to the API gateway at {I} went up after the DNS change.",
        "Dr. {L} wrote the original parser; see {U} for the design notes.",
        "Original patch by {P}, ported to Python 3 by {P2}.",
        "Customers in {R} are served from the {C} data centre.",
        "The on-call engineer this week is {P}; page them at {T}.",
    ),
    "chat": (
        "hey {F}, are you still coming to the meetup tonight?",
        "lol {F} that's exactly what I said yesterday",
        "Just landed in {C}! The weather is amazing.",
        "My sister lives in {C} now, so I'll visit {R} in July.",
        "Thanks {F}! That fixed it, the router works again.",
        "I'm {P}, I ordered the blue jacket last week and it still hasn't arrived.",
        "can you send it to {E}? my work email blocks attachments",
        "We drove from {C} to {C2} in one day, never again.",
        "{F} said the package was left with the neighbour, is that right?",
        "my number is {T}, text me when you're outside",
        "Did {P} really move to {R}? I thought they liked it in {C}.",
        "Hello, this is {F} from support. How can I help you today?",
    ),
}

# Sentences without personal data, written to trap a named-entity model: capitalised defined
# terms, products and languages, acronyms, headings, units, code.
WITHOUT_ENTITIES: dict[str, tuple[str, ...]] = {
    "business": (
        "Quarterly Business Review: Revenue, Pipeline and Hiring",
        "The Board approved the Budget for the next fiscal year.",
        "Please update the CRM before the Pipeline Review on Monday.",
        "Our Net Promoter Score rose to 42 after the onboarding redesign.",
        "The Vendor shall deliver the Goods within thirty days of the Purchase Order.",
        "Action items: finalise the SLA, renew the AWS reserved instances, and review the KPIs.",
        "Marketing wants the Launch Plan in Confluence, not in a Word document.",
        "Headcount Planning For The Next Quarter",
        "The Procurement Committee meets every second Tuesday.",
        "All Employees must complete the Security Awareness training by June.",
        "We moved the weekly standup to Slack huddles to save time.",
        "The Adult and Senior tiers of the membership now cost the same.",
        "Customer Success will own renewals; Sales keeps new business.",
        "The Gender Pay Gap report is due to HR in April.",
        "Send the signed NDA back as a PDF, please.",
        "Operations flagged the Threshold for low-stock alerts as too high.",
        "Finance closes the books on the third working day of each month.",
        "Our ESG report follows the GRI Standards.",
        "Product and Engineering agreed on the Roadmap at the planning session.",
        "The Swifties ticket rush crashed our booking page for an hour.",
    ),
    "legal": (
        "The Landlord shall keep the Premises in good repair.",
        "The Tenant shall pay the Rent on the first day of each month.",
        "This Lease shall commence on the Commencement Date and end on the Expiry Date.",
        "Termination For Convenience",
        "Either Party may terminate this Agreement upon thirty days' written notice.",
        "The Licensee shall not sublicense the Software without prior written consent.",
        "Confidential Information does not include information that is publicly available.",
        "The Guarantor guarantees the obligations of the Tenant under this Lease.",
        "Force Majeure: neither Party is liable for delays caused by events beyond its control.",
        "The Seller warrants that the Goods are free from defects in material and workmanship.",
        "Section 4.2 of the Master Services Agreement prevails over any Statement of Work.",
        "The Data Processor shall notify the Controller of any Personal Data Breach.",
        "Indemnification",
        "The Buyer shall inspect the Goods within five Business Days of delivery.",
        "Schedule B lists the Permitted Use of the Premises.",
        "The Court held that the Landlord had waived the right to forfeit the Lease.",
        "Under the GDPR, the Controller must keep records of processing activities.",
        "The Arbitrator's award shall be final and binding on the Parties.",
        "Any Amendment must be in writing and signed by both Parties.",
        "The Employer shall reimburse reasonable Expenses incurred by the Employee.",
    ),
    "technical": (
        "Format String Syntax",
        "Python strings are sequences of Unicode code points.",
        "Call self.nick() to get the nickname of the current user.",
        "The DPCTGAN model adds DP noise to the discriminator's gradients.",
        "Set the Threshold parameter to 0.8 to reduce false alerts.",
        "Kubernetes restarts the Pod when the liveness probe fails.",
        "The Cloud Storage bucket is mounted read-only in the container.",
        "Temperatures are reported in Fahrenheit unless the locale says otherwise.",
        "Use PyTorch's DataLoader with num_workers=4 on this machine.",
        "The Scheduler picks the Node with the most free memory.",
        "Install PostgreSQL 16 and enable the pg_trgm extension.",
        "Exception Handling In Asynchronous Code",
        "The GIL prevents two threads from running Python bytecode at once.",
        "Run the Linter before you open a Pull Request.",
        "JSON Schema validates the configuration before the Loader reads it.",
        "The Load Balancer forwards traffic to healthy Targets only.",
        "Redis evicts keys with the LRU policy when memory is full.",
        "Open the Settings menu, then choose Privacy and Security.",
        "The Parser raises SyntaxError on an unterminated string literal.",
        "Enable TLS on the Ingress and rotate the certificates yearly.",
    ),
    "chat": (
        "lol same, the update broke my Bluetooth again",
        "ok I'll check the Settings app and get back to you",
        "Is the Premium plan worth it or should I stay on Basic?",
        "my Wi-Fi keeps dropping every evening, any ideas?",
        "Happy Friday everyone! Who's up for lunch?",
        "Thanks, the Reset button did the trick.",
        "can't log in, it says Invalid Token",
        "The Dark Mode toggle disappeared after the update.",
        "Adult tickets are cheaper online than at the door.",
        "Just tried the new Android beta and the Camera app crashes.",
    ),
}


def _fill(template: str, rng: random.Random) -> tuple[str, list[dict[str, object]]]:
    """The template with its slots filled, and the gold spans of what was put in."""
    people: dict[str, tuple[str, str]] = {}
    places: dict[str, str] = {}

    def person(key: str) -> tuple[str, str]:
        if key not in people:
            while True:
                pair = (rng.choice(GIVEN), rng.choice(FAMILY))
                if pair not in people.values():
                    people[key] = pair
                    break
        return people[key]

    def place(key: str, pool: tuple[str, ...] | list[str]) -> str:
        if key not in places:
            while True:
                value = rng.choice(pool)
                if value not in places.values():
                    places[key] = value
                    break
        return places[key]

    out: list[str] = []
    entities: list[dict[str, object]] = []
    pos = 0
    for m in re.finditer(r"\{([A-Z]+)(\d?)\}", template):
        out.append(template[pos : m.start()])
        length = sum(len(s) for s in out)
        slot, index = m.group(1), m.group(2)
        kind: str
        if slot == "P":
            given, family = person("P" + index)
            value, kind = f"{given} {family}", "PERSON"
        elif slot == "F":
            value, kind = person("P" + index)[0], "PERSON"
        elif slot == "L":
            value, kind = person("P" + index)[1], "PERSON"
        elif slot == "C":
            value, kind = place("C" + index, CITIES), "LOCATION"
        elif slot == "R":
            value, kind = place("R" + index, REGIONS), "LOCATION"
        elif slot == "E":
            given, family = person("P")
            host = rng.choice(MAIL_HOSTS)
            value, kind = f"{given.lower()}.{family.lower()}@{host}", "EMAIL"
        elif slot == "T":
            value = rng.choice(
                (
                    f"+44 20 7946 {rng.randint(1000, 9999)}",
                    f"(555) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
                    f"+49 30 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
                )
            )
            kind = "PHONE"
        elif slot == "U":
            value, kind = f"https://wiki.example.org/parser/{rng.randint(100, 999)}", "URL"
        elif slot == "I":
            value = rng.choice(
                (f"10.20.{rng.randint(0, 255)}.{rng.randint(1, 254)}", "2001:db8:4f:1::17")
            )
            kind = "IP_ADDRESS"
        elif slot == "IBAN":
            value, kind = (
                rng.choice(("DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432")),
                "IBAN",
            )
        else:
            raise ValueError(f"unknown slot {slot}")
        entities.append({"type": kind, "start": length, "end": length + len(value), "text": value})
        out.append(value)
        pos = m.end()
    out.append(template[pos:])
    return "".join(out), entities


def build(seed: int = 13, fills: int = 5) -> list[dict[str, object]]:
    """Every entity template filled ``fills`` times, and every sentence without entities."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for domain, templates in WITH_ENTITIES.items():
        for template in templates:
            for _ in range(fills):
                text, entities = _fill(template, rng)
                rows.append({"domain": domain, "text": text, "entities": entities})
    for domain, sentences in WITHOUT_ENTITIES.items():
        for sentence in sentences:
            rows.append({"domain": domain, "text": sentence, "entities": []})
    counts: dict[str, int] = {}
    for row in rows:
        domain = str(row["domain"])
        counts[domain] = counts.get(domain, 0) + 1
        row["id"] = f"{domain}-{counts[domain]:03d}"
    return [{"id": r["id"], **{k: v for k, v in r.items() if k != "id"}} for r in rows]


def main() -> None:
    rows = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    print(f"wrote {len(rows)} texts to {OUT}")


if __name__ == "__main__":
    main()
