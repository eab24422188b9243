"""The council opens a compiled consultation report in Chromium and reads its briefing; its PDF,
rendered to images, opens on the same briefing. Every count on page one is checked against the
database, counted here independently of the report's compiler.

With CONSULTA_SCREENSHOTS set to a folder, the report's first page and the PDF's are saved
there too (`make screenshots`, which the README shows)."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from playwright.sync_api import expect
from sqlalchemy import and_, or_, select

from app.dev import synthetic_feedback
from app.extensions import db
from app.models import (
    Consultation,
    Feedback,
    FeedbackState,
    FlagKind,
    Item,
    ModerationFlag,
    Organization,
    User,
    VerificationState,
)
from app.models.feedback import COUNTED_CODE
from app.reports import pipeline
from app.reports import services as reports
from tests.helpers.browser import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

SLUG = "task-force-migration-recommendations"
TITLE = "Task Force on Migration"
STANCE_BLUE = (0x00, 0x72, 0xB2)  # "support" in the charts (Okabe-Ito)


def compiled_twice(app) -> int:
    """A consultation report, compiled after an earlier one (so "what changed" has a past)."""
    with app.app_context():
        council = db.session.scalar(select(User.id).where(User.email == "council@example.org"))
        consultation = db.session.scalar(select(Consultation.id).where(Consultation.slug == SLUG))
        synthetic_feedback.generate(240, consultation_slug=SLUG, seed=11)
        pipeline.run_in_process(reports.request_report(council, consultation).id)
        synthetic_feedback.generate(60, consultation_slug=SLUG, seed=12)
        report_id = reports.request_report(council, consultation).id
        pipeline.run_in_process(report_id)
        return report_id


def counted_by_hand(app) -> dict[str, object]:
    """What page one should say, from the feedback rows the council version covers."""
    with app.app_context():
        rows = db.session.execute(
            select(
                Item.code,
                Feedback.stance,
                Organization.id,
                Organization.type,
                Organization.country,
                Organization.verification,
                ModerationFlag.campaign_key,
            )
            .join(Item, Item.id == Feedback.item_id)
            .join(Consultation, Consultation.id == Item.consultation_id)
            .join(Organization, Organization.id == Feedback.organization_id)
            .outerjoin(
                ModerationFlag,
                and_(
                    ModerationFlag.feedback_id == Feedback.id,
                    ModerationFlag.kind == FlagKind.CAMPAIGN,
                ),
            )
            .where(
                Consultation.slug == SLUG,
                or_(
                    Feedback.state.in_((FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)),
                    and_(
                        Feedback.state == FeedbackState.REJECTED,
                        Feedback.moderation_code == COUNTED_CODE,
                    ),
                ),
            )
        ).all()
    organisations = {row[2]: row for row in rows}
    verified = sum(1 for row in organisations.values() if row[5] is VerificationState.VERIFIED)
    per_item = Counter((row[0], row[1].value if row[1] else None) for row in rows)
    return {
        "submissions": len(rows),
        "organisations": len(organisations),
        "verified": verified,
        "unverified": len(organisations) - verified,
        "types": Counter(row[3].value for row in organisations.values()),
        "countries": Counter(row[4] for row in organisations.values()),
        "campaigns": len({row[6] for row in rows if row[6] is not None}),
        "campaign_members": sum(1 for row in rows if row[6] is not None),
        "item_totals": Counter(row[0] for row in rows),
        "per_item": per_item,
    }


def number(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def test_the_council_reads_the_briefing_first_on_the_page_and_in_the_pdf(
    live_server, page, seeded, report_jobs_here, tmp_path
):
    report_id = compiled_twice(seeded)
    expected = counted_by_hand(seeded)
    sign_in(page, live_server, "council@example.org")
    page.goto(f"{live_server}/reports/{report_id}")

    # The title names the consultation, the version and the day.
    title = page.get_by_role("heading", level=1)
    expect(title).to_contain_text(TITLE)
    expect(title).to_contain_text("Council version")
    expect(title).to_contain_text(re.compile(r"\d{4}"))
    briefing = page.locator("section.report-briefing")
    expect(briefing.get_by_role("heading", name="Briefing")).to_be_visible()
    # The briefing comes before the item sections and the appendix.
    order = page.locator("h2").all_inner_texts()
    assert (
        order.index("Briefing")
        < order.index("Item by item")
        < order.index("Appendix: the full tables")
    )

    # Every count on page one, against the database.
    def said(name: str) -> int:
        return number(briefing.locator(f'[data-brief="{name}"]').first.inner_text())

    for name in ("submissions", "organisations", "verified", "unverified", "campaigns"):
        assert said(name) == expected[name], name
    assert said("campaign-members") == expected["campaign_members"]
    for kind, n in expected["types"].most_common(3):
        assert said(f"type-{kind}") == n, kind
    for country, n in expected["countries"].most_common(3):
        assert said(f"country-{country}") == n, country
    items = briefing.locator("article.brief-item")
    assert items.count() == len(expected["item_totals"])
    for article in items.all():
        code = article.get_attribute("data-item")
        total = number(article.locator('[data-brief="item-total"]').inner_text())
        assert total == expected["item_totals"][code], code
        for stance in ("support", "support_with_amendments", "neutral", "oppose", "no_position"):
            shown = number(article.locator(f'[data-brief="item-{stance}"]').inner_text())
            assert shown == expected["per_item"][code, stance], (code, stance)
        # Its balance is a chart with its numbers as text.
        chart = article.get_by_role("img")
        expect(chart).to_have_count(1)
        assert "Support" in chart.inner_html()
    # Themes with their share and cited quotes, in their language and labelled.
    quotes = briefing.locator("blockquote")
    assert quotes.count() >= len(expected["item_totals"])
    first = quotes.first
    assert first.get_attribute("lang") in {"en", "es", "fr"}
    expect(first.locator("a.ref").first).to_have_text(re.compile(r"^[A-Z]+-"))
    expect(briefing).to_contain_text("of the item's submissions with a comment")
    expect(
        briefing.get_by_role("heading", name="What changed since the last report")
    ).to_be_visible()
    expect(briefing).to_contain_text("Since the report of")
    # No stage times and no algorithm names anywhere on the council's page.
    text = page.locator("main").inner_text().lower()
    for hidden in ("tfidf", "nmf", "extractive", "mmr", "time taken", "seconds"):
        assert hidden not in text, hidden
    assert_accessible(page)
    screenshots = os.environ.get("CONSULTA_SCREENSHOTS")
    if screenshots:
        page.set_viewport_size({"width": 1280, "height": 1400})
        page.screenshot(path=str(Path(screenshots) / "report-briefing-page.png"))

    # The PDF opens on the same briefing: page one has the title, the charts and quotes.
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF document").click()
    pdf_path = tmp_path / "report.pdf"
    download.value.save_as(pdf_path)
    document = pdfium.PdfDocument(pdf_path)
    first_page = document[0]
    words = " ".join(first_page.get_textpage().get_text_range().split())
    assert TITLE in words and "Council version" in words
    assert "Briefing" in words and "Who took part" in words
    assert f"{expected['organisations']} organisations sent" in words
    assert f"{expected['submissions']:,} submissions" in words
    assert re.search(r"\[[A-Z]+-\w+", words)  # a quote's first reference
    assert not any(hidden in words.lower() for hidden in ("tfidf", "nmf", "time taken"))
    # Rendered: the balance bars are drawn on page one in the stances' colours.
    image = first_page.render(scale=1.5).to_pil().convert("RGB")
    colours = Counter(image.getdata())
    assert colours[STANCE_BLUE] > 200  # a few bars' worth of "support"
    assert len(colours) > 50  # text, bars and rules, not a blank page
    if screenshots:
        image.save(Path(screenshots) / "report-briefing-pdf.png")
