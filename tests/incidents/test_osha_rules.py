"""Recordability (29 CFR 1904.7 and 1904.8-1904.11), the G-J box, K/L day counting, privacy cases."""

import pytest

from fieldbridge.incidents.osha import (
    CaseFacts,
    CaseType,
    Outcome,
    PrivacyReason,
    Treatment,
    case_type_for,
    check_privacy,
    decide,
    establishment_size,
    log_days,
    suggested_privacy,
)


@pytest.mark.parametrize(
    ("facts", "outcome", "basis_part"),
    [
        (CaseFacts(died=True, days_away=3), Outcome.death, "death (1904.7(b)(2))"),
        (CaseFacts(days_away=2, days_restricted=5), Outcome.days_away, "days away from work (1904.7(b)(3))"),
        (CaseFacts(days_restricted=4), Outcome.job_transfer_restriction, "restricted work or job transfer"),
        (
            CaseFacts(treatment=Treatment.medical_treatment),
            Outcome.other_recordable,
            "medical treatment beyond first aid",
        ),
        (
            CaseFacts(loss_of_consciousness=True),
            Outcome.other_recordable,
            "loss of consciousness (1904.7(b)(6))",
        ),
        (CaseFacts(significant_diagnosed=True), Outcome.other_recordable, "(1904.7(b)(7))"),
        (CaseFacts(contaminated_sharps=True), Outcome.other_recordable, "(1904.8)"),
        (CaseFacts(medical_removal=True), Outcome.other_recordable, "(1904.9)"),
        (CaseFacts(hearing_loss_sts=True), Outcome.other_recordable, "(1904.10)"),
        (CaseFacts(tuberculosis=True), Outcome.other_recordable, "(1904.11)"),
    ],
)
def test_each_criterion_records_with_its_basis(facts: CaseFacts, outcome: Outcome, basis_part: str) -> None:
    decision = decide(facts)
    assert decision.recordable
    assert decision.outcome is outcome
    assert basis_part in decision.basis
    assert decision.basis.startswith("Recordable: ")


def test_every_criterion_that_applied_is_in_the_basis() -> None:
    decision = decide(
        CaseFacts(days_away=1, treatment=Treatment.medical_treatment, loss_of_consciousness=True)
    )
    assert decision.basis.count("1904.7(b)") == 3
    assert decision.outcome is Outcome.days_away


@pytest.mark.parametrize(
    ("facts", "why"),
    [
        (CaseFacts(treatment=Treatment.first_aid), "first aid only"),
        (CaseFacts(), "no recording criterion"),
        (CaseFacts(work_related=False, died=True), "not work-related (1904.5)"),
        (CaseFacts(new_case=False, days_away=10), "not a new case"),
    ],
)
def test_not_recordable_says_why(facts: CaseFacts, why: str) -> None:
    decision = decide(facts)
    assert not decision.recordable
    assert decision.outcome is None
    assert why in decision.basis


def test_days_are_counted_to_180_in_total() -> None:
    assert log_days(5, 7) == (5, 7)
    assert log_days(200, 0) == (180, 0)
    assert log_days(100, 100) == (100, 80)
    assert log_days(0, 250) == (0, 180)
    assert log_days(-1, 3) == (0, 3)


def test_specific_criteria_pick_their_column() -> None:
    assert case_type_for(CaseFacts(hearing_loss_sts=True), CaseType.injury) is CaseType.hearing_loss
    assert (
        case_type_for(CaseFacts(tuberculosis=True), CaseType.other_illness) is CaseType.respiratory_condition
    )
    assert case_type_for(CaseFacts(), CaseType.skin_disorder) is CaseType.skin_disorder


def test_privacy_rules() -> None:
    assert check_privacy(False, None, CaseType.injury) is None
    assert check_privacy(True, PrivacyReason.intimate_body_part, CaseType.injury) is None
    missing = check_privacy(True, None, CaseType.injury)
    assert missing is not None
    assert "1904.29(b)(7)" in missing
    # (vi) is for illnesses only
    refused = check_privacy(True, PrivacyReason.employee_request, CaseType.injury)
    assert refused is not None
    assert "illness" in refused
    assert check_privacy(True, PrivacyReason.employee_request, CaseType.skin_disorder) is None
    assert suggested_privacy(CaseFacts(contaminated_sharps=True)) is PrivacyReason.contaminated_sharps
    assert suggested_privacy(CaseFacts(tuberculosis=True)) is PrivacyReason.hiv_hepatitis_tuberculosis
    assert suggested_privacy(CaseFacts(days_away=3)) is None


@pytest.mark.parametrize(
    ("employees", "code"), [(None, None), (0, 1), (19, 1), (20, 21), (99, 21), (100, 22), (249, 22), (250, 3)]
)
def test_ita_size_codes(employees: int | None, code: int | None) -> None:
    assert establishment_size(employees) == code
