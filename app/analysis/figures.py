"""A report's figures, accumulated one streamed `Submission` at a time: headline numbers, stance
and priority distributions, the timeline, campaigns, and the comparison of two reports.

Kept whole: one accumulator (ReportFigures) whose counters, merge and result belong together.

Memory grows with the number of groups (organisations, campaigns, days, distinct combinations
of item, organisation type, country, stance and priority), never with the number of rows: each
row only bumps a few counters keyed by small tuples, and everything else is derived in
`result()`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from typing import Any

from app.analysis.records import Submission
from app.analysis.tally import STANCES, Tally, tally

UNKNOWN = "unknown"  # the code for a missing country or language, or no population given
# An organisation working across countries (app.models.organization.INTERNATIONAL_COUNTRY, held
# equal by a test): a group of its own by country, but no country in the headline's count.
INTERNATIONAL = "XX"
# A respondent's language when none of its submissions has text, and when its texts' language
# was not recognised.
NO_TEXT = "no_text"
UNRECOGNISED = "unrecognised"
VERIFIED = "verified"
UNVERIFIED = "unverified"
ORGANISATION_LIST_LIMIT = 25  # named organisations listed per campaign (all are counted)
SHARE_DIGITS = 6
POINT_DIGITS = 4

_STANCE_RANK = {stance: rank for rank, stance in enumerate(STANCES)}


def dominant_stance(counts: Mapping[str | None, int]) -> str | None:
    """The most frequent stance; ties go to the earlier stance in STANCES; None when no row of
    `counts` has a stance."""
    best: str | None = None
    for stance, n in counts.items():
        if stance is None or n <= 0:
            continue
        if best is None or (n, -_STANCE_RANK[stance]) > (counts[best], -_STANCE_RANK[best]):
            best = stance
    return best


def _share(part: int, whole: int) -> float:
    return round(part / whole, SHARE_DIGITS) if whole else 0.0


def tally_dict(result: Tally) -> dict[str, Any]:
    """`Tally.as_dict()` plus shares: stances over all rows, priorities over rows with one."""
    data = result.as_dict()
    data["stance_shares"] = {s: _share(n, result.total) for s, n in result.stances.items()}
    prioritised = sum(result.priorities.values())
    data["priority_shares"] = {str(p): _share(n, prioritised) for p, n in result.priorities.items()}
    return data


@dataclass(frozen=True)
class Breakdown:
    """Stance and priority tallies over a set of rows, whole and split by group. A submission
    naming several affected populations counts in each of them."""

    overall: Tally
    by_verification: dict[str, Tally]
    by_organisation_type: dict[str, Tally]
    by_country: dict[str, Tally]
    by_population: dict[str, Tally]

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall": tally_dict(self.overall),
            "by_verification": _tallies_dict(self.by_verification),
            "by_organisation_type": _tallies_dict(self.by_organisation_type),
            "by_country": _tallies_dict(self.by_country),
            "by_population": _tallies_dict(self.by_population),
        }


def _tallies_dict(tallies: dict[str, Tally]) -> dict[str, Any]:
    return {group: tally_dict(t) for group, t in tallies.items()}


@dataclass(frozen=True)
class StanceCounts:
    """Stances without priorities: the "distinct positions" view."""

    total: int = 0
    stances: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STANCES, 0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "stances": dict(self.stances),
            "stance_shares": {s: _share(n, self.total) for s, n in self.stances.items()},
        }


@dataclass(frozen=True)
class Campaign:
    """A group of near-duplicate submissions, shown once."""

    key: str
    size: int
    representative_id: int  # the lowest submission id of the group
    dominant_stance: str | None
    stances: dict[str, int]
    items: list[str]
    organisation_count: int  # distinct submitting organisations, anonymous ones included
    organisations: list[tuple[int, str]]  # (id, name), lowest ids first, named ones only

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "size": self.size,
            "representative_id": self.representative_id,
            "dominant_stance": self.dominant_stance,
            "stances": dict(self.stances),
            "items": list(self.items),
            "organisation_count": self.organisation_count,
            "organisations": [{"id": i, "name": name} for i, name in self.organisations],
        }


@dataclass(frozen=True)
class Headline:
    submissions: int
    submissions_verified: int  # submitted by a verified organisation
    submissions_unverified: int
    organisations_submitting: int
    organisations_with_cosigners: int  # submitting or co-signing
    organisations_verified: int  # of the submitting ones
    organisations_unverified: int
    countries: int  # the organisations' countries, "international / several" not one of them
    languages: int
    campaigns: int
    campaign_members: int
    own_positions: int  # submissions in no campaign
    distinct_positions: int  # own positions + one per campaign and item

    def as_dict(self) -> dict[str, Any]:
        return {
            "submissions": self.submissions,
            "submissions_by_verification": {
                VERIFIED: self.submissions_verified,
                UNVERIFIED: self.submissions_unverified,
            },
            "organisations": {
                "submitting": self.organisations_submitting,
                "with_cosigners": self.organisations_with_cosigners,
                VERIFIED: self.organisations_verified,
                UNVERIFIED: self.organisations_unverified,
            },
            "countries": self.countries,
            "languages": self.languages,
            "campaigns": self.campaigns,
            "campaign_members": self.campaign_members,
            "own_positions": self.own_positions,
            "distinct_positions": self.distinct_positions,
        }


@dataclass(frozen=True)
class Figures:
    headline: Headline
    distributions: Breakdown
    items: dict[str, Breakdown]
    distinct_positions: StanceCounts  # each campaign counts once per item it addresses
    distinct_positions_by_item: dict[str, StanceCounts]
    languages: dict[str, int]  # respondents (submitting organisations) by their language
    timeline: list[tuple[date, int, dict[str, int]]]  # (UTC day, total, per stance), no gaps
    campaigns: list[Campaign]  # largest first
    # submitting organisations by type and by country, each organisation once
    participants: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        respondents = self.headline.organisations_submitting
        return {
            "headline": self.headline.as_dict(),
            "distributions": {**self.distributions.as_dict(), "items": _items_dict(self.items)},
            "distinct_positions": {
                **self.distinct_positions.as_dict(),
                "items": _items_dict(self.distinct_positions_by_item),
            },
            "languages": {
                code: {"count": n, "share": _share(n, respondents)}
                for code, n in self.languages.items()
            },
            "timeline": [
                {"date": day.isoformat(), "total": n, "stances": dict(stances)}
                for day, n, stances in self.timeline
            ],
            "campaigns": [campaign.as_dict() for campaign in self.campaigns],
            "participants": self.participants,
        }


def _items_dict(items: Mapping[str, Breakdown | StanceCounts]) -> dict[str, Any]:
    return {code: value.as_dict() for code, value in items.items()}


class ReportFigures:
    """The figures accumulator: `add()` every row, then `result()` once."""

    def __init__(self, organisation_list_limit: int = ORGANISATION_LIST_LIMIT) -> None:
        self.organisation_list_limit = organisation_list_limit
        # (item, verified, organisation type, country, stance, priority) -> rows
        # Plain dicts and .get(): a dict subclass such as Counter is slower to index.
        self._profiles: dict[tuple, int] = {}
        # (item, populations, stance, priority) -> rows; populations expanded in result()
        self._populations: dict[tuple, int] = {}
        # submitting organisation -> {language of a submission with text: submissions}; an
        # organisation without any text has an empty dict
        self._languages: dict[int, dict[str | None, int]] = {}
        self._days: dict[tuple[date, str | None], int] = {}
        self._organisations: dict[int, bool] = {}  # submitting organisation -> verified
        # submitting organisation -> (its type, its country): who took part, each once
        self._kinds: dict[int, tuple[str, str | None]] = {}
        self._cosigners: set[int] = set()
        # campaign key -> [lowest id, {(item, stance): rows}, {organisation id: name}]
        self._campaigns: dict[str, list] = {}

    def add(self, row: Submission) -> None:
        # One unpacking is cheaper than 14 attribute lookups on a NamedTuple; at a million rows
        # this loop is what a report's compile time is made of.
        (
            submission_id,
            _reference,
            item,
            organisation_id,
            organisation_name,
            organisation_type,
            country,
            verified,
            stance,
            priority,
            populations,
            language,
            comment,
            amendment,
            moment,
            campaign_key,
            cosigners,
            _countries,
        ) = row
        counts = self._profiles
        key = (item, verified, organisation_type, country, stance, priority)
        counts[key] = counts.get(key, 0) + 1
        counts = self._populations
        key = (item, populations, stance, priority)
        counts[key] = counts.get(key, 0) + 1
        counts = self._languages.get(organisation_id)
        if counts is None:
            counts = self._languages[organisation_id] = {}
        if comment or amendment:
            counts[language] = counts.get(language, 0) + 1
        zone = moment.tzinfo
        if zone is not UTC and zone is not None:  # naive datetimes are taken as UTC
            moment = moment.astimezone(UTC)
        counts = self._days
        key = (moment.date(), stance)
        counts[key] = counts.get(key, 0) + 1
        self._organisations[organisation_id] = verified
        if organisation_id not in self._kinds:
            self._kinds[organisation_id] = (organisation_type, country)
        if cosigners:
            self._cosigners.update(cosigners)
        if campaign_key is not None:
            campaign = self._campaigns.get(campaign_key)
            if campaign is None:
                campaign = self._campaigns[campaign_key] = [submission_id, {}, {}]
            elif submission_id < campaign[0]:
                campaign[0] = submission_id
            counts = campaign[1]
            key = (item, stance)
            counts[key] = counts.get(key, 0) + 1
            campaign[2][organisation_id] = organisation_name

    def update(self, rows: Iterable[Submission]) -> ReportFigures:
        for row in rows:
            self.add(row)
        return self

    def state(self) -> dict[str, Any]:
        """Everything counted so far, as JSON-ready data: a part of a report hands it to the
        fan-in, which `merge()`s the parts' states."""
        organisations = self._organisations
        return {
            "profiles": [[*key, n] for key, n in self._profiles.items()],
            "populations": [
                [item, list(populations), stance, priority, n]
                for (item, populations, stance, priority), n in self._populations.items()
            ],
            "languages": [
                [organisation_id, [[code, n] for code, n in counts.items()]]
                for organisation_id, counts in self._languages.items()
            ],
            "days": [[day.isoformat(), stance, n] for (day, stance), n in self._days.items()],
            "verified": [i for i, verified in organisations.items() if verified],
            "unverified": [i for i, verified in organisations.items() if not verified],
            "cosigners": sorted(self._cosigners),
            "kinds": [[i, kind, country] for i, (kind, country) in self._kinds.items()],
            # Per campaign every member organisation's id (to count them) but only the names
            # that can be listed: the lowest ids of this state are the only ones that can be
            # among the lowest ids of a merge.
            "campaigns": [
                [
                    key,
                    lowest_id,
                    [[item, stance, n] for (item, stance), n in counts.items()],
                    list(members),
                    sorted((i, name) for i, name in members.items() if name)[
                        : self.organisation_list_limit
                    ],
                ]
                for key, (lowest_id, counts, members) in self._campaigns.items()
            ],
        }

    def merge(self, state: Mapping[str, Any]) -> ReportFigures:
        """Add the counts of another accumulator's `state()`: the result is the same as if
        its rows had been `add()`ed here."""
        for *key, n in state["profiles"]:
            key = tuple(key)
            self._profiles[key] = self._profiles.get(key, 0) + n
        for item, populations, stance, priority, n in state["populations"]:
            key = (item, tuple(populations), stance, priority)
            self._populations[key] = self._populations.get(key, 0) + n
        for organisation_id, languages in state["languages"]:
            counts = self._languages.setdefault(organisation_id, {})
            for code, n in languages:
                counts[code] = counts.get(code, 0) + n
        for day, stance, n in state["days"]:
            key = (date.fromisoformat(day), stance)
            self._days[key] = self._days.get(key, 0) + n
        self._organisations.update(dict.fromkeys(state["verified"], True))
        self._organisations.update(dict.fromkeys(state["unverified"], False))
        self._cosigners.update(state["cosigners"])
        for organisation_id, kind, country in state.get("kinds", ()):
            self._kinds.setdefault(organisation_id, (kind, country))
        for key, lowest_id, counts, members, named in state["campaigns"]:
            campaign = self._campaigns.setdefault(key, [lowest_id, {}, {}])
            campaign[0] = min(campaign[0], lowest_id)
            for item, stance, n in counts:
                campaign[1][(item, stance)] = campaign[1].get((item, stance), 0) + n
            known = campaign[2]
            for organisation_id in members:
                known.setdefault(organisation_id, "")
            known.update((organisation_id, name) for organisation_id, name in named)
        return self

    def result(self) -> Figures:
        distributions, items = self._breakdowns()
        campaigns = self._campaign_list()
        distinct, distinct_by_item = self._distinct_positions(items, campaigns)
        organisations = self._organisations
        verified_organisations = sum(organisations.values())
        submissions = distributions.overall.total
        members = sum(c.size for c in campaigns)
        languages = respondent_languages(self._languages.values())
        headline = Headline(
            submissions=submissions,
            submissions_verified=distributions.by_verification[VERIFIED].total,
            submissions_unverified=distributions.by_verification[UNVERIFIED].total,
            organisations_submitting=len(organisations),
            organisations_with_cosigners=len(self._cosigners.union(organisations)),
            organisations_verified=verified_organisations,
            organisations_unverified=len(organisations) - verified_organisations,
            countries=len({key[3] for key in self._profiles} - {None, INTERNATIONAL}),
            # as many as the respondents' table lists (not "no text" or "not recognised")
            languages=len(set(languages) - {NO_TEXT, UNRECOGNISED}),
            campaigns=len(campaigns),
            campaign_members=members,
            own_positions=submissions - members,
            distinct_positions=distinct.total,
        )
        return Figures(
            headline=headline,
            distributions=distributions,
            items=items,
            distinct_positions=distinct,
            distinct_positions_by_item=distinct_by_item,
            languages=languages,
            timeline=self._timeline(),
            campaigns=campaigns,
            participants=self._participants(),
        )

    def _participants(self) -> dict[str, dict[str, int]]:
        """The submitting organisations, each once, by type and by country (most first)."""
        by_type: dict[str, int] = {}
        by_country: dict[str, int] = {}
        for kind, country in self._kinds.values():
            by_type[kind] = by_type.get(kind, 0) + 1
            country = country if country is not None else UNKNOWN
            by_country[country] = by_country.get(country, 0) + 1
        return {
            "by_organisation_type": dict(sorted(by_type.items(), key=lambda e: (-e[1], e[0]))),
            "by_country": dict(sorted(by_country.items(), key=lambda e: (-e[1], e[0]))),
        }

    def _breakdowns(self) -> tuple[Breakdown, dict[str, Breakdown]]:
        # scope (None = every item) -> dimension -> group -> [(stance, priority, rows)]
        groups: dict[str | None, dict[str, dict[str, list]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list))
        )
        for (item, verified, kind, country, stance, priority), n in self._profiles.items():
            entry = (stance, priority, n)
            for scope in (None, item):
                dims = groups[scope]
                dims["overall"][""].append(entry)
                dims["by_verification"][VERIFIED if verified else UNVERIFIED].append(entry)
                dims["by_organisation_type"][kind].append(entry)
                dims["by_country"][country if country is not None else UNKNOWN].append(entry)
        for (item, populations, stance, priority), n in self._populations.items():
            entry = (stance, priority, n)
            for scope in (None, item):
                by_population = groups[scope]["by_population"]
                for population in populations or (UNKNOWN,):
                    by_population[population].append(entry)

        def breakdown(dims: dict[str, dict[str, list]]) -> Breakdown:
            def tallies(dimension: str) -> dict[str, Tally]:
                found = dims[dimension]
                return {group: tally(found[group]) for group in sorted(found)}

            return Breakdown(
                overall=tally(dims["overall"][""]),
                by_verification={
                    group: tally(dims["by_verification"][group]) for group in (VERIFIED, UNVERIFIED)
                },
                by_organisation_type=tallies("by_organisation_type"),
                by_country=tallies("by_country"),
                by_population=tallies("by_population"),
            )

        overall = breakdown(groups[None])
        items = {item: breakdown(groups[item]) for item in sorted(k for k in groups if k)}
        return overall, items

    def _campaign_list(self) -> list[Campaign]:
        limit = self.organisation_list_limit
        campaigns = []
        for key, (lowest_id, counts, organisations) in self._campaigns.items():
            stances: Counter[str | None] = Counter()
            for (_item, stance), n in counts.items():
                stances[stance] += n
            named = sorted((i, name) for i, name in organisations.items() if name)
            campaigns.append(
                Campaign(
                    key=key,
                    size=sum(stances.values()),
                    representative_id=lowest_id,
                    dominant_stance=dominant_stance(stances),
                    stances={s: stances[s] for s in STANCES},
                    items=sorted({item for item, _ in counts}),
                    organisation_count=len(organisations),
                    organisations=named[:limit],
                )
            )
        campaigns.sort(key=lambda c: (-c.size, c.representative_id))
        return campaigns

    def _distinct_positions(
        self, items: dict[str, Breakdown], campaigns: list[Campaign]
    ) -> tuple[StanceCounts, dict[str, StanceCounts]]:
        """Raw counts with each campaign's members replaced by one position per item it
        addresses, holding the campaign's majority stance on that item."""
        totals = {item: b.overall.total for item, b in items.items()}
        stances = {item: dict(b.overall.stances) for item, b in items.items()}
        for key in (c.key for c in campaigns):
            per_item: dict[str, Counter[str | None]] = defaultdict(Counter)
            for (item, stance), n in self._campaigns[key][1].items():
                per_item[item][stance] += n
            for item, counts in per_item.items():
                totals[item] -= sum(counts.values()) - 1
                for stance, n in counts.items():
                    if stance in _STANCE_RANK:
                        stances[item][stance] -= n
                majority = dominant_stance(counts)
                if majority is not None:
                    stances[item][majority] += 1
        by_item = {item: StanceCounts(totals[item], stances[item]) for item in items}
        overall = StanceCounts(
            total=sum(totals.values()),
            stances={s: sum(c.stances[s] for c in by_item.values()) for s in STANCES},
        )
        return overall, by_item

    def _timeline(self) -> list[tuple[date, int, dict[str, int]]]:
        if not self._days:
            return []
        days: dict[date, list] = {}
        for (day, stance), n in self._days.items():
            entry = days.setdefault(day, [0, dict.fromkeys(STANCES, 0)])
            entry[0] += n
            if stance in entry[1]:
                entry[1][stance] += n
        first, last = min(days), max(days)
        timeline = []
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            total, stances = days.get(day, (0, dict.fromkeys(STANCES, 0)))
            timeline.append((day, total, stances))
        return timeline


def report_figures(rows: Iterable[Submission]) -> Figures:
    """The figures of `rows` in one call (tests, small reports)."""
    return ReportFigures().update(rows).result()


def compare(previous: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """What changed between two `Figures.as_dict()` results: counts, stance shares in
    percentage points (overall and per item both reports have), items and campaigns that are
    new in `current`."""

    def change(path: tuple[str, ...]) -> dict[str, int]:
        before, after = _dig(previous, path), _dig(current, path)
        return {"previous": before, "current": after, "change": after - before}

    def shifts(view: str) -> dict[str, Any]:
        old, new = previous[view], current[view]
        if view == "distributions":
            old_overall, new_overall = old["overall"], new["overall"]
        else:
            old_overall, new_overall = old, new
        common = sorted(set(old["items"]) & set(new["items"]))
        return {
            "overall": _points(old_overall, new_overall),
            "items": {
                code: _points(_overall_of(old["items"][code]), _overall_of(new["items"][code]))
                for code in common
            },
        }

    old_keys = {c["key"] for c in previous["campaigns"]}
    return {
        "submissions": change(("headline", "submissions")),
        "organisations": change(("headline", "organisations", "submitting")),
        "organisations_with_cosigners": change(("headline", "organisations", "with_cosigners")),
        "campaigns": change(("headline", "campaigns")),
        "distinct_positions": change(("headline", "distinct_positions")),
        "stance_shifts": shifts("distributions"),
        "distinct_stance_shifts": shifts("distinct_positions"),
        "new_items": sorted(
            set(current["distributions"]["items"]) - set(previous["distributions"]["items"])
        ),
        "new_campaigns": [
            {
                "key": c["key"],
                "size": c["size"],
                "dominant_stance": c["dominant_stance"],
                "items": c["items"],
            }
            for c in current["campaigns"]
            if c["key"] not in old_keys
        ],
    }


def _dig(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _overall_of(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    return entry.get("overall", entry)


def _points(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, float]:
    """Per stance, the change of its share in percentage points."""
    before, after = old["stance_shares"], new["stance_shares"]
    return {s: round((after.get(s, 0.0) - before.get(s, 0.0)) * 100, POINT_DIGITS) for s in STANCES}


def respondent_languages(per_respondent: Iterable[Mapping[str | None, int]]) -> dict[str, int]:
    """Respondents by language, most first: each respondent once, in the language most of its
    texts are in (the lowest code on a tie; a recognised language before an unrecognised
    one), NO_TEXT when none of its submissions has text."""
    counts: dict[str, int] = {}
    for languages in per_respondent:
        if not languages:
            code = NO_TEXT
        else:
            code = min(languages, key=lambda c: (-languages[c], c is None, c or "")) or UNRECOGNISED
        counts[code] = counts.get(code, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
