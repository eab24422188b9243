"""`flask --app app generate-feedback`: synthetic multilingual feedback with mass campaigns."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.analysis.language import detect_language
from app.analysis.near_duplicates import jaccard
from app.dev import synthetic_feedback
from app.dev.synthetic_feedback import GenerationReport, generate
from app.extensions import db
from app.models import (
    Consultation,
    CosignState,
    Feedback,
    FeedbackCosigner,
    FeedbackState,
    FlagKind,
    Item,
    ModerationFlag,
    Organization,
)
from app.models.feedback import AFFECTED_POPULATIONS, REGION_COUNTRIES

COUNT = 3000
SUMMIT = "leaders-summit-2021-migration"


@pytest.fixture
def generated(seeded: Flask, monkeypatch) -> Iterator[GenerationReport]:
    # Batches of 700 rows: five, built and written by the two COPY processes.
    monkeypatch.setattr(synthetic_feedback, "BATCH_ROWS", 700)
    with seeded.app_context():
        yield generate(COUNT, campaign_share=0.8, published_share=0.5, seed=7)


def new_feedback(report: GenerationReport) -> list[Feedback]:
    return list(
        db.session.scalars(
            select(Feedback).where(Feedback.id >= report.first_id).order_by(Feedback.id)
        )
    )


def campaign_flags(report: GenerationReport) -> list[ModerationFlag]:
    return list(
        db.session.scalars(
            select(ModerationFlag).where(
                ModerationFlag.kind == FlagKind.CAMPAIGN,
                ModerationFlag.feedback_id >= report.first_id,
            )
        )
    )


def test_generates_exactly_the_number_of_submitted_or_published_rows_asked_for(generated):
    rows = new_feedback(generated)
    assert len(rows) == COUNT == generated.feedback
    states = {row.state for row in rows}
    assert states == {FeedbackState.SUBMITTED, FeedbackState.PUBLISHED}
    published = [row for row in rows if row.state is FeedbackState.PUBLISHED]
    assert 0.45 < len(published) / COUNT < 0.55
    assert all(row.published_at and row.published_at >= row.submitted_at for row in published)
    for row in rows:
        assert row.reference == f"GEN-{row.id}"
        assert row.lock_version == 1
        assert row.stance is not None and 1 <= row.priority <= 5
        assert row.affected_populations and set(row.affected_populations) <= set(
            AFFECTED_POPULATIONS
        )
        assert (row.amendment != "") == (row.stance.value == "support_with_amendments")
        assert row.item_version_id == current_version_id(row.item_id)


def current_version_id(item_id: int) -> int:
    item = db.session.get(Item, item_id)
    return next(v.id for v in item.versions if v.number == item.current_version)


def test_texts_are_english_spanish_and_french_with_the_language_recorded(generated):
    rows = new_feedback(generated)
    counts = defaultdict(int)
    for row in rows:
        counts[row.language] += 1
    assert set(counts) == {"en", "es", "fr"}
    assert counts["en"] > counts["es"] > counts["fr"] > 0.04 * COUNT
    individual = {row.id: row for row in rows}
    for flag in campaign_flags(generated):
        individual.pop(flag.feedback_id, None)
    sample = list(individual.values())[:150] + rows[::40]
    assert all(detect_language(row.comment) == row.language for row in sample)
    words = [len(row.comment.split()) for row in individual.values()]
    assert min(words) >= 15 and max(words) >= 150


def test_about_the_campaign_share_is_flagged_with_a_per_item_key_of_the_smallest_id(generated):
    flags = campaign_flags(generated)
    assert len(flags) == round(0.8 * COUNT) == generated.campaign_members
    by_id = {row.id: row for row in new_feedback(generated)}
    groups: dict[str, list[Feedback]] = defaultdict(list)
    for flag in flags:
        assert flag.detail == ""
        groups[flag.campaign_key].append(by_id[flag.feedback_id])
    assert len(groups) == generated.campaign_groups
    assert min(len(members) for members in groups.values()) >= 2
    # A campaign text spans one or more items: one very large campaign and a long tail.
    campaigns: list[tuple[str, int]] = []  # (text of its first member, members)
    for members in groups.values():
        text = min(members, key=lambda m: m.id).comment
        match = next((i for i, (t, _) in enumerate(campaigns) if jaccard(t, text) >= 0.8), None)
        if match is None:
            campaigns.append((text, len(members)))
        else:
            campaigns[match] = (campaigns[match][0], campaigns[match][1] + len(members))
    sizes = sorted((size for _, size in campaigns), reverse=True)
    assert len(sizes) == generated.campaigns >= 10
    assert sizes[0] > 5 * sizes[len(sizes) // 2]
    for key, members in groups.items():
        assert len({member.item_id for member in members}) == 1  # keys are per item
        assert key == str(min(member.id for member in members))
        first, last = min(members, key=lambda m: m.id), max(members, key=lambda m: m.id)
        assert jaccard(first.comment, last.comment) >= 0.8
        assert {m.language for m in members} == {first.language}


def test_each_organisation_gives_one_position_per_item_and_some_co_sign(generated):
    duplicates = db.session.execute(
        select(Feedback.organization_id, Feedback.item_id)
        .where(Feedback.id >= generated.first_id)
        .group_by(Feedback.organization_id, Feedback.item_id)
        .having(func.count() > 1)
    ).all()
    assert duplicates == []
    organizations = db.session.scalars(
        select(Organization)
        .join(Feedback, Feedback.organization_id == Organization.id)
        .where(Feedback.id >= generated.first_id)
    ).unique()
    organizations = list(set(organizations))
    assert len(organizations) > COUNT / 15  # each answers several items
    assert all(org.country in REGION_COUNTRIES for org in organizations)
    verified = sum(org.is_verified for org in organizations) / len(organizations)
    assert 0.6 < verified < 0.8
    cosigners = db.session.scalars(
        select(FeedbackCosigner).where(FeedbackCosigner.feedback_id >= generated.first_id)
    ).all()
    assert cosigners and all(c.state is CosignState.ACCEPTED for c in cosigners)
    for cosigner in cosigners:
        own = db.session.scalar(
            select(Feedback.id).where(
                Feedback.organization_id == cosigner.organization_id,
                Feedback.item_id == cosigner.feedback.item_id,
            )
        )
        assert own is None  # a co-signer does not also speak for itself on the item


def test_the_same_seed_gives_the_same_texts(seeded):
    with seeded.app_context():
        first = generate(300, seed=11)
        first_texts = [row.comment for row in new_feedback(first)]
        second = generate(300, seed=11)
        second_texts = [row.comment for row in new_feedback(second)]
        other = generate(300, seed=12)
        other_texts = [row.comment for row in new_feedback(other)]
    assert first_texts == second_texts
    assert other_texts != first_texts


def test_the_command_fills_one_consultation_and_reports_what_it_did(seeded):
    runner = seeded.test_cli_runner()
    result = runner.invoke(
        args=["generate-feedback", "--count", "400", "--consultation", SUMMIT, "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "400 feedback" in result.output and " s" in result.output
    with seeded.app_context():
        slugs = db.session.scalars(
            select(Consultation.slug)
            .join(Item, Item.consultation_id == Consultation.id)
            .join(Feedback, Feedback.item_id == Item.id)
            .where(Feedback.reference.like("GEN-%"))
            .distinct()
        ).all()
    assert slugs == [SUMMIT]

    unknown = runner.invoke(args=["generate-feedback", "--count", "10", "--consultation", "nope"])
    assert unknown.exit_code != 0 and "nope" in unknown.output


def test_each_flag_carries_its_submissions_state_and_time(generated):
    # The rows go in with the flag-copying trigger skipped: the generator writes them itself.
    pairs = db.session.execute(
        select(ModerationFlag.feedback_state, Feedback.state, ModerationFlag.submitted_at)
        .join(Feedback, Feedback.id == ModerationFlag.feedback_id)
        .where(Feedback.id >= generated.first_id)
        .add_columns(Feedback.submitted_at)
    ).all()
    assert len(pairs) == generated.flags > generated.campaign_members
    assert all(flag == own and at == submitted for flag, own, at, submitted in pairs)


def test_a_batch_that_fails_leaves_no_feedback_behind(seeded, monkeypatch):
    monkeypatch.setattr(synthetic_feedback, "BATCH_ROWS", 200)
    build = synthetic_feedback._RowBuilder.tables

    def failing(self, start, stop):
        if start == 600:
            raise RuntimeError("batch 600 broke")
        return build(self, start, stop)

    monkeypatch.setattr(synthetic_feedback._RowBuilder, "tables", failing)
    with seeded.app_context():
        counts = select(
            select(func.count(Feedback.id)).scalar_subquery(),
            select(func.count(ModerationFlag.id)).scalar_subquery(),
        )
        before = db.session.execute(counts).one()
        with pytest.raises(RuntimeError, match="batch 600 broke"):
            generate(1000, seed=5)
        db.session.rollback()
        assert db.session.execute(counts).one() == before  # the batches written were undone
