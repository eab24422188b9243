"""Synthetic submitted and published feedback, with mass campaigns, for report benchmarks.

Kept whole: one generator, whose text banks, plan and row writer share its constants; it is
development code, outside the production services.

What it writes follows the rules the real code keeps: one position per (organisation, item),
`language` = the language of the text, campaign members flagged with the key of the smallest
member id on the item (the contract of app/moderation/flagging.py), unverified organisations
flagged, and a sentinel fingerprint per row so the flagging reconciler leaves the rows alone.

The plan (which item, campaign, organisation and time each row gets) is a few numpy arrays;
the rows themselves are built and streamed a batch at a time: COPY on PostgreSQL from parallel
processes (ids reserved up front, no ORM objects; app/dev/bulk_copy.py), executemany on SQLite
(small counts only).
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, cached_property
from pathlib import Path

import numpy as np
import yaml
from sqlalchemy import insert, select, text

from app.consultations.services import recount_published_tallies
from app.dev import bulk_copy
from app.errors import DomainError, NotFound
from app.extensions import db
from app.models import (
    Consultation,
    Feedback,
    FeedbackCosigner,
    FeedbackFingerprint,
    Item,
    ItemVersion,
    ModerationFlag,
    Organization,
)
from app.models.base import utcnow
from app.models.feedback import AFFECTED_POPULATIONS
from app.moderation.flagging import SENTINEL_BAND

BANK_DIR = Path(__file__).resolve().parent.parent / "content" / "synthetic"
LANGUAGES = ("en", "es", "fr")
LANGUAGE_WEIGHTS = (0.6, 0.3, 0.1)
WINDOW = timedelta(days=60)
BATCH_ROWS = 20_000
MIN_CAMPAIGNS, MAX_CAMPAIGNS = 10, 30
CAMPAIGN_WORDS = (90, 200)  # long enough that a greeting or one word keeps Jaccard above 0.8
ORGANIZATION_SLACK = 1.2  # organisations per item position, so each answers most items

STANCES = ("support", "support_with_amendments", "neutral", "oppose", "no_position")
STANCE_WEIGHTS = (0.34, 0.24, 0.14, 0.24, 0.04)
PRIORITY_WEIGHTS = (0.08, 0.14, 0.28, 0.28, 0.22)
ORGANIZATION_TYPES = (
    ("ngo", 0.35),
    ("migrant_led", 0.12),
    ("faith_based", 0.10),
    ("academic", 0.08),
    ("legal_aid", 0.10),
    ("employer", 0.05),
    ("workers", 0.06),
    ("international", 0.05),
    ("government", 0.03),
    ("other", 0.06),
)
# An organisation writes in one language; its country follows from it.
COUNTRIES_BY_LANGUAGE = {
    "en": (("US", 0.55), ("CA", 0.25), ("JM", 0.06), ("BZ", 0.06), ("BR", 0.04), ("PA", 0.04)),
    "es": (
        ("MX", 0.30),
        ("GT", 0.15),
        ("HN", 0.14),
        ("SV", 0.12),
        ("NI", 0.04),
        ("CR", 0.05),
        ("PA", 0.03),
        ("CO", 0.05),
        ("VE", 0.03),
        ("EC", 0.02),
        ("PE", 0.02),
        ("CL", 0.02),
        ("CU", 0.01),
        ("DO", 0.02),
    ),
    "fr": (("CA", 0.6), ("HT", 0.4)),
}
VERIFICATION = (("verified", 0.7), ("pending", 0.3))
ORGANIZATION_NAMES = {
    "en": (
        "{place} Migrant Rights Network",
        "{place} Refugee Legal Clinic",
        "Friends of Newcomers in {place}",
        "{place} Workers' Centre",
        "{place} Interfaith Welcome Council",
        "Borderlands Research Group of {place}",
    ),
    "es": (
        "Red de Derechos de las Personas Migrantes de {place}",
        "Clínica Jurídica para Refugiados de {place}",
        "Casa del Migrante de {place}",
        "Colectivo de Trabajadoras de {place}",
        "Pastoral de Movilidad Humana de {place}",
        "Observatorio de Migración de {place}",
    ),
    "fr": (
        "Réseau d'accueil des migrants de {place}",
        "Clinique juridique pour réfugiés de {place}",
        "Maison d'hébergement de {place}",
        "Centre des travailleurs de {place}",
        "Table interconfessionnelle d'accueil de {place}",
        "Observatoire des migrations de {place}",
    ),
}
# The detail app.moderation.flagging writes for an organisation awaiting verification.
UNVERIFIED_DETAIL = "{name} is not verified yet."

FEEDBACK_COLUMNS = (
    "id",
    "reference",
    "item_id",
    "item_version_id",
    "organization_id",
    "state",
    "stance",
    "priority",
    "affected_populations",
    "countries",
    "comment",
    "comment_disclosure",
    "amendment",
    "amendment_disclosure",
    "evidence_links",
    "attribution",
    "language",
    "moderated_at",
    "lock_version",
    "created_at",
    "updated_at",
    "submitted_at",
    "published_at",
)
JSON_COLUMNS = frozenset({"affected_populations", "countries", "evidence_links"})
TIME_COLUMNS = frozenset(
    {"created_at", "updated_at", "submitted_at", "published_at", "moderated_at", "decided_at"}
)
ORGANIZATION_COLUMNS = ("id", "name", "type", "country", "website", "verification")
ORGANIZATION_TIMES = ("verified_at", "created_at")
# A flag carries its submission's state and time (the trigger that copies them may be skipped).
FLAG_COLUMNS = (
    "feedback_id",
    "kind",
    "detail",
    "campaign_key",
    "feedback_state",
    "submitted_at",
    "created_at",
)
FINGERPRINT_COLUMNS = ("feedback_id", "band", "hash")
COSIGNER_COLUMNS = ("feedback_id", "organization_id", "state", "created_at", "decided_at")

Progress = Callable[[str, int, int], None]


@dataclass
class GenerationReport:
    feedback: int = 0
    published: int = 0
    organizations: int = 0
    campaigns: int = 0  # distinct campaign texts
    campaign_groups: int = 0  # (campaign, item) pairs, i.e. campaign keys
    campaign_members: int = 0
    flags: int = 0
    cosigners: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    first_id: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class _Target:
    item_id: int
    version_id: int


@dataclass(frozen=True)
class _Bank:
    language: str
    sentences: tuple[str, ...]
    openings: tuple[str, ...]
    closings: tuple[str, ...]
    amendments: tuple[str, ...]
    greetings: tuple[str, ...]
    signatures: tuple[str, ...]
    swaps: tuple[tuple[str, str], ...]
    campaign_openings: tuple[str, ...]
    names: tuple[str, ...]
    places: tuple[str, ...]
    groups: tuple[str, ...]
    countries: tuple[str, ...]
    org_kinds: tuple[str, ...]

    def slots(self, rng: random.Random) -> dict[str, str]:
        return {
            "place": rng.choice(self.places),
            "group": rng.choice(self.groups),
            "country": rng.choice(self.countries),
            "org_kind": rng.choice(self.org_kinds),
            "number": str(rng.randint(30, 4000)),
        }


@dataclass
class _Campaign:
    language: str
    text: str
    amendment: str
    stance: str
    priority: int
    populations: str  # JSON, the same for every member
    greetings: tuple[str, ...]
    signatures: tuple[str, ...]
    swaps: tuple[tuple[re.Pattern[str], str], ...]  # the swaps whose word occurs in the text

    def member_text(self, rng: random.Random) -> str:
        """The campaign text as one member sends it: as is, or with one small change."""
        roll = rng.random()
        if roll < 0.25:
            return self.text
        if roll < 0.55 or (roll >= 0.8 and not self.swaps):
            return f"{rng.choice(self.greetings)}\n\n{self.text}"
        if roll < 0.8:
            return f"{self.text}\n\n{rng.choice(self.signatures)}"
        pattern, replacement = rng.choice(self.swaps)
        return pattern.sub(replacement, self.text, count=1)


@dataclass
class _Plan:
    """One entry per row, in id order (rows are sorted by submission time)."""

    item: np.ndarray  # index into targets
    campaign: np.ndarray  # index into campaigns, -1 for an individual submission
    organization: np.ndarray  # index into organisations
    seconds: np.ndarray  # submission time, seconds after the window start
    keys: dict[tuple[int, int], int]  # (campaign, item) -> row of its first member
    cosigners: dict[int, list[int]]  # row -> organisation indexes co-signing it


def generate(
    count: int = 10_000,
    *,
    consultation_slug: str | None = None,
    campaign_share: float = 0.8,
    published_share: float = 0.5,
    seed: int = 1,
    progress: Progress | None = None,
) -> GenerationReport:
    """Add `count` submitted/published feedback rows (and the organisations, campaign flags
    and co-signatures they need) to the seeded consultations, in one transaction.

    The same `seed`, count and items give the same texts, organisations and campaigns.
    """
    if count < 1:
        raise DomainError("count must be at least 1", field="count")
    if not 0 <= campaign_share <= 1 or not 0 <= published_share <= 1:
        raise DomainError("shares must lie between 0 and 1")
    started = time.perf_counter()
    targets = _targets(consultation_slug)
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    nprng = np.random.default_rng(seed)
    banks = {language: _bank(language) for language in LANGUAGES}

    campaigns, sizes = _campaigns(count, campaign_share, banks, rng, nprng)
    organization_count, plan = _plan(count, len(targets), sizes, nprng)
    organizations = _organizations(organization_count, banks, nprng, rng)

    now = utcnow().replace(microsecond=0)
    window_start = now - WINDOW
    writer = (
        _PostgresWriter([target.item_id for target in targets])
        if _dialect() == "postgresql"
        else _SqliteWriter()
    )
    report = GenerationReport(organizations=organization_count, campaigns=len(campaigns))
    report.campaign_groups = len(plan.keys)
    try:
        organization_start = writer.reserve("organizations", organization_count)
        feedback_start = writer.reserve("feedback", count)
        report.first_id = feedback_start
        writer.write_organizations(
            _organization_rows(organizations, organization_start, window_start)
        )
        if progress:
            progress("organizations", organization_count, organization_count)

        builder = _RowBuilder(
            plan=plan,
            targets=targets,
            campaigns=campaigns,
            organizations=organizations,
            organization_start=organization_start,
            feedback_start=feedback_start,
            window_start=window_start,
            now=now,
            published_share=published_share,
            banks=banks,
            seed=seed,
        )
        ranges = [(start, min(start + BATCH_ROWS, count)) for start in range(0, count, BATCH_ROWS)]
        languages: Counter[str] = Counter()
        for summary in writer.write_feedback(builder.tables, ranges):
            report.published += summary.published
            report.campaign_members += summary.campaign_members
            report.flags += summary.flags
            report.cosigners += summary.cosigners
            languages.update(summary.languages)
        if progress:
            progress("feedback", count, count)
        writer.commit()
    except BaseException:
        writer.abort()
        raise

    report.feedback = count
    report.languages = dict(sorted(languages.items()))
    report.seconds = time.perf_counter() - started
    return report


# --- what to comment on --------------------------------------------------------------------------


def _targets(consultation_slug: str | None) -> list[_Target]:
    query = (
        select(Item.id, ItemVersion.id)
        .join(
            ItemVersion,
            (ItemVersion.item_id == Item.id) & (ItemVersion.number == Item.current_version),
        )
        .join(Consultation, Consultation.id == Item.consultation_id)
        .order_by(Consultation.id, Item.position, Item.id)
    )
    if consultation_slug is not None:
        query = query.where(Consultation.slug == consultation_slug)
    targets = [_Target(item_id, version_id) for item_id, version_id in db.session.execute(query)]
    if not targets:
        if consultation_slug is not None:
            raise NotFound(f"no consultation {consultation_slug!r} with items")
        raise NotFound("no consultation items: run `flask --app app seed` first")
    return targets


@cache
def _bank(language: str) -> _Bank:
    data = yaml.safe_load((BANK_DIR / f"{language}.yaml").read_text(encoding="utf-8"))
    lists = {key: tuple(value) for key, value in data.items() if isinstance(value, list)}
    lists["swaps"] = tuple((str(a), str(b)) for a, b in data["swaps"])
    return _Bank(language=language, **lists)


# --- campaigns and the plan ----------------------------------------------------------------------


def _campaigns(
    count: int,
    campaign_share: float,
    banks: dict[str, _Bank],
    rng: random.Random,
    nprng: np.random.Generator,
) -> tuple[list[_Campaign], list[int]]:
    """The campaign texts and how many members each has: one very large, a long tail."""
    volume = round(count * campaign_share)
    number = min(MAX_CAMPAIGNS, max(MIN_CAMPAIGNS, volume // 2000), volume // 4)
    if number < 1:
        return [], []
    weights = 1 / np.arange(1, number + 1) ** 1.3
    sizes = np.maximum(4, np.floor(volume * weights / weights.sum()).astype(np.int64))
    sizes[0] += volume - int(sizes.sum())  # whatever rounding left over goes to the largest
    # Largest first, each campaign writes in the language furthest below its share of the
    # volume, so the campaigns keep the 60/30/10 split however skewed their sizes are.
    assigned = dict.fromkeys(LANGUAGES, 0)
    campaigns = []
    for size in sizes:
        language = max(
            LANGUAGES,
            key=lambda lang: volume * LANGUAGE_WEIGHTS[LANGUAGES.index(lang)] - assigned[lang],
        )
        assigned[language] += int(size)
        campaigns.append(_campaign(banks[language], rng))
    return campaigns, [int(size) for size in sizes]


def _campaign(bank: _Bank, rng: random.Random) -> _Campaign:
    slots = bank.slots(rng)
    low, high = CAMPAIGN_WORDS
    parts = [rng.choice(bank.campaign_openings)]
    words = len(parts[0].split())
    for sentence in rng.sample(bank.sentences, len(bank.sentences)):
        filled = sentence.format_map(slots)
        if words >= low and words + len(filled.split()) > high:
            break
        parts.append(filled)
        words += len(filled.split())
        if words >= low and rng.random() < 0.3:
            break
    body = " ".join(parts)
    stance = rng.choices(("support", "support_with_amendments", "oppose"), (0.3, 0.35, 0.35))[0]
    amendment = rng.choice(bank.amendments) if stance == "support_with_amendments" else ""
    populations = sorted(rng.sample(AFFECTED_POPULATIONS, rng.randint(1, 3)))
    name_slots = [{"name": name, "place": rng.choice(bank.places)} for name in bank.names]
    return _Campaign(
        language=bank.language,
        text=body,
        amendment=amendment,
        stance=stance,
        priority=rng.choice((4, 5)),
        populations=json.dumps(populations),
        greetings=bank.greetings,
        signatures=tuple(
            template.format_map(slot) for template in bank.signatures for slot in name_slots
        ),
        swaps=tuple(
            (re.compile(rf"\b{re.escape(word)}\b"), replacement)
            for word, replacement in bank.swaps
            if re.search(rf"\b{re.escape(word)}\b", body)
        ),
    )


def _plan(
    count: int, item_count: int, sizes: Sequence[int], nprng: np.random.Generator
) -> tuple[int, _Plan]:
    """Spread individual submissions evenly over the items and each campaign over a few of
    them (the largest over many), then give every row an organisation and a time."""
    individual = count - sum(sizes)
    average = count / item_count
    load = np.bincount(nprng.integers(0, item_count, individual), minlength=item_count)
    items, campaigns = [np.repeat(np.arange(item_count), load)], [np.full(individual, -1)]
    for index, size in enumerate(sizes):
        # No campaign puts more than half an item's average load on one item.
        span = max(math.ceil(size / (average * 0.5)), int(nprng.integers(1, 4)))
        span = max(1, min(span, item_count, size // 2))
        chosen = np.argsort(load + nprng.random(item_count))[:span]  # the least loaded
        per_item = 2 + nprng.multinomial(size - 2 * span, np.full(span, 1 / span))
        load[chosen] += per_item
        items.append(np.repeat(chosen, per_item))
        campaigns.append(np.full(size, index))
    item = np.concatenate(items).astype(np.int32)
    campaign = np.concatenate(campaigns).astype(np.int32)

    organization_count = max(math.ceil(average * ORGANIZATION_SLACK), int(load.max()) + 1)
    organization = np.empty(count, dtype=np.int32)
    free: dict[int, np.ndarray] = {}
    for index in range(item_count):
        rows = np.flatnonzero(item == index)
        order = nprng.permutation(organization_count)
        organization[rows] = order[: len(rows)]
        free[index] = order[len(rows) :]  # may co-sign this item's positions

    seconds = np.empty(count, dtype=np.float64)
    window = WINDOW.total_seconds()
    alone = campaign < 0
    seconds[alone] = nprng.random(int(alone.sum())) * window
    for index in range(len(sizes)):
        # A campaign starts on one day and its members follow in a burst that fades.
        members = campaign == index
        launch = nprng.random() * window * 0.8
        burst = launch + nprng.exponential(3 * 86400, int(members.sum()))
        seconds[members] = np.minimum(burst, window - 60)
    order = np.argsort(seconds, kind="stable")
    item, campaign, organization, seconds = (
        item[order],
        campaign[order],
        organization[order],
        seconds[order],
    )

    keys: dict[tuple[int, int], int] = {}
    members = np.flatnonzero(campaign >= 0)
    if len(members):
        groups = campaign[members].astype(np.int64) * item_count + item[members]
        _, first = np.unique(groups, return_index=True)  # the first row is the smallest id
        for row in members[first]:
            keys[(int(campaign[row]), int(item[row]))] = int(row)

    cosigners: dict[int, list[int]] = {}
    singles = np.flatnonzero(campaign < 0)
    wanted = min(len(singles), max(3, len(singles) // 100)) if len(singles) else 0
    taken = dict.fromkeys(range(item_count), 0)
    for row in np.sort(nprng.choice(singles, wanted, replace=False)) if wanted else ():
        index = int(item[row])
        available = free[index][taken[index] :]
        number = min(len(available), int(nprng.integers(1, 4)))
        if number:
            cosigners[int(row)] = [int(o) for o in available[:number]]
            taken[index] += number

    plan = _Plan(item, campaign, organization, seconds, keys, cosigners)
    return organization_count, plan


# --- organisations -------------------------------------------------------------------------------


@dataclass
class _Organizations:
    names: list[str]
    types: np.ndarray
    countries: list[str]
    languages: list[str]
    verification: np.ndarray
    created_days: np.ndarray


def _organizations(
    number: int, banks: dict[str, _Bank], nprng: np.random.Generator, rng: random.Random
) -> _Organizations:
    language_index = nprng.choice(len(LANGUAGES), number, p=LANGUAGE_WEIGHTS)
    languages = [LANGUAGES[i] for i in language_index]
    countries: list[str] = [""] * number
    for index, language in enumerate(LANGUAGES):
        rows = np.flatnonzero(language_index == index)
        codes, weights = zip(*COUNTRIES_BY_LANGUAGE[language], strict=True)
        drawn = nprng.choice(len(codes), len(rows), p=np.asarray(weights) / sum(weights))
        for row, code in zip(rows, drawn, strict=True):
            countries[row] = codes[code]
    names = [
        rng.choice(ORGANIZATION_NAMES[language]).format(place=rng.choice(banks[language].places))
        for language in languages
    ]
    types, type_weights = zip(*ORGANIZATION_TYPES, strict=True)
    states, state_weights = zip(*VERIFICATION, strict=True)
    return _Organizations(
        names=names,
        types=np.asarray(types)[nprng.choice(len(types), number, p=type_weights)],
        countries=countries,
        languages=languages,
        verification=np.asarray(states)[nprng.choice(len(states), number, p=state_weights)],
        created_days=nprng.integers(30, 3650, number),
    )


def _organization_rows(
    organizations: _Organizations, first_id: int, window_start: datetime
) -> Iterator[tuple]:
    for index, name in enumerate(organizations.names):
        identifier = first_id + index
        state = str(organizations.verification[index])
        created = window_start - timedelta(days=int(organizations.created_days[index]))
        yield (
            identifier,
            f"{name} ({identifier})",  # names are unique; the id keeps them so
            str(organizations.types[index]),
            organizations.countries[index],
            f"https://org{identifier}.example.org" if index % 3 else None,
            state,
            created + timedelta(days=2) if state == "verified" else None,
            created,
        )


# --- feedback rows -------------------------------------------------------------------------------


@dataclass
class _Summary:
    """What a batch wrote, sent back from the process that wrote it."""

    published: int = 0
    campaign_members: int = 0
    flags: int = 0
    cosigners: int = 0
    languages: Counter[str] = field(default_factory=Counter)


@dataclass
class _RowBuilder:
    """Builds the rows of a range of the plan. Each range draws from generators seeded by the
    seed and the range's start, so ranges may be built in any order, in any process, and the
    same seed still gives the same rows."""

    plan: _Plan
    targets: list[_Target]
    campaigns: list[_Campaign]
    organizations: _Organizations
    organization_start: int
    feedback_start: int
    window_start: datetime
    now: datetime
    published_share: float
    banks: dict[str, _Bank]
    seed: int

    def tables(self, start: int, stop: int) -> tuple[list[tuple], _Summary]:
        """(table, columns, rows) of the range's feedback and what hangs on it, and a summary.
        Times are ISO strings (COPY reads them as they are; the SQLite writer parses them)."""
        plan, size = self.plan, stop - start
        rng = random.Random(f"{self.seed}:{start}")  # noqa: S311 - reproducible test data
        nprng = np.random.default_rng([self.seed, start])
        published = nprng.random(size) < self.published_share
        review = nprng.uniform(1, 72, size) * 3600
        drafting = nprng.uniform(5, 600, size) * 60
        stances = nprng.choice(len(STANCES), size, p=STANCE_WEIGHTS)
        priorities = nprng.choice(5, size, p=PRIORITY_WEIGHTS) + 1
        council_only = nprng.random(size) < 0.05
        anonymous = nprng.random(size) < 0.15
        seconds = plan.seconds[start:stop]
        horizon = (self.now - self.window_start).total_seconds()
        submitted_s = _iso(self.window_start, seconds)
        created_s = _iso(self.window_start, seconds - drafting)
        published_s = _iso(self.window_start, np.minimum(seconds + review, horizon))

        org_ids, countries, languages, unverified = self._organization_columns
        feedback, flags, fingerprints, cosigners = [], [], [], []
        summary = _Summary(published=int(published.sum()))
        for offset, row in enumerate(range(start, stop)):
            feedback_id = self.feedback_start + row
            item = int(plan.item[row])
            target = self.targets[item]
            org = int(plan.organization[row])
            submitted = submitted_s[offset]
            published_at = published_s[offset] if published[offset] else None
            state = "published" if published_at else "submitted"
            campaign_index = int(plan.campaign[row])
            if campaign_index >= 0:
                campaign = self.campaigns[campaign_index]
                language = campaign.language
                comment, amendment = campaign.member_text(rng), campaign.amendment
                stance, priority = campaign.stance, campaign.priority
                populations = campaign.populations
                country_list = _countries_json(countries[org], None)
                first_row = plan.keys[(campaign_index, item)]
                key = str(self.feedback_start + first_row)
                flags.append((feedback_id, "campaign", "", key, state, submitted, submitted))
                summary.campaign_members += 1
            else:
                language = languages[org]
                bank = self.banks[language]
                stance = STANCES[int(stances[offset])]
                comment = _individual_text(bank, rng)
                amendment = _amendment(bank, rng) if stance == "support_with_amendments" else ""
                priority = int(priorities[offset])
                populations = _populations_json(
                    tuple(sorted(rng.sample(AFFECTED_POPULATIONS, rng.randint(1, 3))))
                )
                extra = rng.choice(EXTRA_COUNTRIES) if rng.random() < 0.3 else None
                country_list = _countries_json(countries[org], extra)
                for cosigner in plan.cosigners.get(row, ()):
                    invited = self.window_start + timedelta(seconds=float(seconds[offset]) + 3600)
                    cosigners.append(
                        (
                            feedback_id,
                            self.organization_start + cosigner,
                            "accepted",
                            min(invited, self.now).isoformat(),
                            min(invited + timedelta(days=1), self.now).isoformat(),
                        )
                    )
            if unverified[org] is not None:
                flags.append(
                    (
                        feedback_id,
                        "unverified_organization",
                        unverified[org],
                        None,
                        state,
                        submitted,
                        submitted,
                    )
                )
            fingerprints.append((feedback_id, SENTINEL_BAND, 1))
            summary.languages[language] += 1
            feedback.append(
                (
                    feedback_id,
                    f"GEN-{feedback_id}",
                    target.item_id,
                    target.version_id,
                    org_ids[org],
                    state,
                    stance,
                    priority,
                    populations,
                    country_list,
                    comment,
                    "council_only" if council_only[offset] else "public",
                    amendment,
                    "public",
                    "[]",
                    "anonymous" if anonymous[offset] else "named",
                    language,
                    published_at,
                    1,
                    created_s[offset],
                    published_at or submitted,
                    submitted,
                    published_at,
                )
            )
        summary.flags, summary.cosigners = len(flags), len(cosigners)
        tables = [
            ("feedback", FEEDBACK_COLUMNS, feedback),
            ("moderation_flags", FLAG_COLUMNS, flags),
            ("feedback_fingerprints", FINGERPRINT_COLUMNS, fingerprints),
            ("feedback_cosigners", COSIGNER_COLUMNS, cosigners),
        ]
        return tables, summary

    @cached_property
    def _organization_columns(self) -> tuple[list[int], list[str], list[str], list[str | None]]:
        """Each organisation's id, country, language and unverified-flag detail (None when
        verified), looked up by index."""
        orgs = self.organizations
        ids = [self.organization_start + index for index in range(len(orgs.names))]
        unverified = [
            None
            if orgs.verification[index] == "verified"
            else UNVERIFIED_DETAIL.format(name=f"{name} ({ids[index]})")
            for index, name in enumerate(orgs.names)
        ]
        return ids, orgs.countries, orgs.languages, unverified


EXTRA_COUNTRIES = ("MX", "GT", "HN", "SV", "US", "CA")


def _iso(start: datetime, seconds: np.ndarray) -> list[str]:
    """`start` + each number of seconds, as ISO 8601 UTC strings to the microsecond."""
    base = np.datetime64(start.replace(tzinfo=None), "us")
    moments = base + np.rint(seconds * 1e6).astype("timedelta64[us]")
    return [f"{text}+00:00" for text in np.datetime_as_string(moments, unit="us").tolist()]


@cache
def _populations_json(populations: tuple[str, ...]) -> str:
    return json.dumps(list(populations))


@cache
def _countries_json(country: str, extra: str | None) -> str:
    return json.dumps(sorted({country, extra} - {None}))


def _individual_text(bank: _Bank, rng: random.Random) -> str:
    """2–10 sentences in the organisation's own voice: 30 to about 300 words."""
    slots = bank.slots(rng)
    count = rng.choices(range(2, 11), weights=(6, 10, 12, 12, 10, 8, 6, 4, 3))[0]
    sentences = rng.sample(bank.sentences, count)
    if count > 2 and rng.random() < 0.6:
        sentences[0] = rng.choice(bank.openings)
    if count > 3 and rng.random() < 0.4:
        sentences[-1] = rng.choice(bank.closings)
    filled = [sentence.format_map(slots) for sentence in sentences]
    if count >= 6:  # longer comments come in paragraphs
        middle = count // 2
        return " ".join(filled[:middle]) + "\n\n" + " ".join(filled[middle:])
    return " ".join(filled)


def _amendment(bank: _Bank, rng: random.Random) -> str:
    return " ".join(rng.sample(bank.amendments, rng.choice((1, 1, 2))))


# --- writing -------------------------------------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


TABLES_WRITTEN = (
    "organizations",
    "feedback",
    "moderation_flags",
    "feedback_fingerprints",
    "feedback_cosigners",
)


class _PostgresWriter:
    """COPY on raw psycopg connections (app.dev.bulk_copy). The organisations are committed
    first (the feedback rows point at them); the feedback batches are then built and written
    by parallel processes, which commit only once every batch has been written."""

    def __init__(self, item_ids: list[int]) -> None:
        db.session.commit()  # nothing of ours stays open on the session
        self.item_ids = item_ids
        self._proxy = db.engine.raw_connection()
        self.connection = self._proxy.driver_connection

    def reserve(self, table: str, number: int) -> int:
        """The first of `number` consecutive ids no row of `table` has or will be given."""
        with self.connection.cursor() as cursor:
            # Held only until the sequence is moved past the block: later inserts start above it.
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
            sequence = cursor.execute(
                "SELECT pg_get_serial_sequence(%s, 'id')", (table,)
            ).fetchone()[0]
            next_value = cursor.execute("SELECT nextval(%s)", (sequence,)).fetchone()[0]
            highest = cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]  # noqa: S608 - our table names
            first = max(next_value, highest + 1)
            cursor.execute("SELECT setval(%s, %s)", (sequence, first + number - 1))
        self.connection.commit()
        return first

    def write_organizations(self, rows: Iterator[tuple]) -> None:
        with self.connection.cursor() as cursor:
            bulk_copy.copy_rows(
                cursor, "organizations", ORGANIZATION_COLUMNS + ORGANIZATION_TIMES, rows
            )
        self.connection.commit()

    def write_feedback(self, build: bulk_copy.Build, ranges: list[tuple[int, int]]) -> list:
        skip_triggers = bulk_copy.may_skip_triggers(self.connection)
        return bulk_copy.load_in_parallel(build, ranges, skip_triggers=skip_triggers)

    def commit(self) -> None:
        # The writers deferred the published tallies (each would wait for the other's counts).
        recount_published_tallies(self.item_ids)
        db.session.commit()
        with self.connection.cursor() as cursor:
            for table in TABLES_WRITTEN:
                cursor.execute(f"ANALYZE {table}")
        self.connection.commit()
        self._proxy.close()

    def abort(self) -> None:
        self.connection.rollback()
        self._proxy.close()


class _SqliteWriter:
    """Core executemany through the models' column types (the embedded default: small counts)."""

    TABLES = {
        "organizations": Organization.__table__,
        "feedback": Feedback.__table__,
        "moderation_flags": ModerationFlag.__table__,
        "feedback_fingerprints": FeedbackFingerprint.__table__,
        "feedback_cosigners": FeedbackCosigner.__table__,
    }

    def reserve(self, table: str, number: int) -> int:
        return (db.session.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table}")) or 0) + 1  # noqa: S608

    def write_organizations(self, rows: Iterator[tuple]) -> None:
        self._insert("organizations", ORGANIZATION_COLUMNS + ORGANIZATION_TIMES, rows)

    def write_feedback(self, build: bulk_copy.Build, ranges: list[tuple[int, int]]) -> list:
        summaries = []
        for start, stop in ranges:
            tables, summary = build(start, stop)
            for table, columns, rows in tables:
                self._insert(table, columns, rows)
            summaries.append(summary)
        return summaries

    def commit(self) -> None:
        db.session.commit()

    def abort(self) -> None:
        db.session.rollback()

    def _insert(self, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        model = self.TABLES[table]
        times = {
            c
            for c in columns
            if isinstance(model.c[c].type.python_type, type)
            and model.c[c].type.python_type is datetime
        }
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        for record in records:
            for column in JSON_COLUMNS.intersection(record):
                record[column] = json.loads(record[column])
            for column in times:
                if isinstance(record[column], str):
                    record[column] = datetime.fromisoformat(record[column])
        if records:
            db.session.execute(insert(model), records)
