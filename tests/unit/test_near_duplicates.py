"""Near-duplicate fingerprints: campaigns share a band, unrelated texts do not."""

from __future__ import annotations

import subprocess
import sys

from app.analysis.near_duplicates import BANDS, jaccard, signature_bands

CAMPAIGN = (
    "We call on the governments of the region to expand regular pathways for migrant workers, "
    "guarantee access to asylum at every border crossing, end the detention of children and "
    "families, and fund the local organisations that receive returnees in their communities."
)


def shared(a: str, b: str) -> set[tuple[int, int]]:
    return set(signature_bands(a)) & set(signature_bands(b))


def test_every_band_is_a_63_bit_hash():
    bands = signature_bands(CAMPAIGN)
    assert [band for band, _ in bands] == list(range(BANDS))
    assert all(0 <= value < 2**63 for _, value in bands)


def test_a_campaign_text_with_small_edits_shares_a_band():
    edited = CAMPAIGN.replace("We call on", "Our organisation calls on").upper() + " Thank you."
    assert jaccard(CAMPAIGN, edited) >= 0.8
    assert shared(CAMPAIGN, edited)


def test_punctuation_and_accents_do_not_change_the_fingerprint():
    assert signature_bands("Éxodo, migración: ¡derechos!") == signature_bands(
        "exodo migracion derechos"
    )


def test_unrelated_texts_share_no_band():
    other = (
        "The pledge on labour mobility ignores seasonal agricultural workers, whose visas "
        "tie them to a single employer and leave them without protection against abuse."
    )
    assert not shared(CAMPAIGN, other)


def test_a_text_without_words_has_no_fingerprint():
    assert signature_bands("  ?! ") == []


def test_fingerprints_are_the_same_in_another_process():
    code = (
        "from app.analysis.near_duplicates import signature_bands;"
        f"print(signature_bands({CAMPAIGN!r}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == str(signature_bands(CAMPAIGN))
