"""OSHA recordkeeping rules (29 CFR Part 1904) as pure functions: no database, no I/O.

- `decide(facts)`: is a case recordable (1904.4 through 1904.11), and on which basis. The basis
  names every criterion that applied, so the stored text shows why a case is on the log.
- `outcome(facts)`: the one box of columns G-J, by the most serious outcome
  (death > days away > job transfer or restriction > other recordable).
- `log_days(away, restricted)`: columns K and L, counted up to 180 days in total (1904.7(b)(3)(vii)).
- `check_privacy(...)`: what may be a privacy concern case (1904.29(b)(7)); musculoskeletal
  disorders never are (b)(8).
- ITA codes (`OUTCOME_CODE`, `TYPE_CODE`, `establishment_size`).
"""

from dataclasses import dataclass
from enum import StrEnum

PRIVACY_NAME = "Privacy Case"  # printed in column B instead of the name (1904.29(b)(6))
MAX_COUNTED_DAYS = 180  # 1904.7(b)(3)(vii): the tally of K + L may stop at 180


class Outcome(StrEnum):
    """Columns G-J of the 300 log: check only one, the most serious."""

    death = "death"  # G
    days_away = "days_away"  # H
    job_transfer_restriction = "job_transfer_restriction"  # I
    other_recordable = "other_recordable"  # J


class CaseType(StrEnum):
    """Column M: the injury column or one type of illness."""

    injury = "injury"  # M(1)
    skin_disorder = "skin_disorder"  # M(2)
    respiratory_condition = "respiratory_condition"  # M(3)
    poisoning = "poisoning"  # M(4)
    hearing_loss = "hearing_loss"  # M(5)
    other_illness = "other_illness"  # M(6)


class Treatment(StrEnum):
    """1904.7(b)(5): first aid is a closed list; anything beyond it is medical treatment."""

    none = "none"
    first_aid = "first_aid"
    medical_treatment = "medical_treatment"


class PrivacyReason(StrEnum):
    """1904.29(b)(7) (i)-(vi): the only privacy concern cases."""

    intimate_body_part = "intimate_body_part"  # (i) intimate body part or reproductive system
    sexual_assault = "sexual_assault"  # (ii)
    mental_illness = "mental_illness"  # (iii)
    hiv_hepatitis_tuberculosis = "hiv_hepatitis_tuberculosis"  # (iv)
    contaminated_sharps = "contaminated_sharps"  # (v) needlestick / sharps with blood or OPIM
    employee_request = "employee_request"  # (vi) an illness, at the employee's voluntary request


OUTCOME_CODE: dict[Outcome, int] = {
    Outcome.death: 1,
    Outcome.days_away: 2,
    Outcome.job_transfer_restriction: 3,
    Outcome.other_recordable: 4,
}
TYPE_CODE: dict[CaseType, int] = {
    CaseType.injury: 1,
    CaseType.skin_disorder: 2,
    CaseType.respiratory_condition: 3,
    CaseType.poisoning: 4,
    CaseType.hearing_loss: 5,
    CaseType.other_illness: 6,
}
OUTCOME_COLUMN: dict[Outcome, str] = {
    Outcome.death: "G",
    Outcome.days_away: "H",
    Outcome.job_transfer_restriction: "I",
    Outcome.other_recordable: "J",
}
TYPE_COLUMN: dict[CaseType, str] = {t: f"M{code}" for t, code in TYPE_CODE.items()}

# 1904.7(b)(5)(ii): the whole of first aid. Anything else (sutures, prescription medicine,
# rigid splints, physical therapy, IV fluids...) is medical treatment.
FIRST_AID: tuple[str, ...] = (
    "(A) non-prescription medication at non-prescription strength",
    "(B) tetanus immunization",
    "(C) cleaning, flushing or soaking surface wounds",
    "(D) wound coverings, butterfly bandages, Steri-Strips",
    "(E) hot or cold therapy",
    "(F) non-rigid means of support (elastic bandages, wraps, non-rigid back belts)",
    "(G) temporary immobilization for transport",
    "(H) drilling a fingernail or toenail, draining a blister",
    "(I) eye patches",
    "(J) removing foreign bodies from the eye by irrigation or a cotton swab",
    "(K) removing splinters or foreign material elsewhere by simple means",
    "(L) finger guards",
    "(M) massages",
    "(N) drinking fluids for relief of heat stress",
)


@dataclass(frozen=True)
class CaseFacts:
    """What recordability depends on; every field is something a safety manager can answer."""

    work_related: bool = True  # 1904.5: caused, contributed to or significantly aggravated at work
    new_case: bool = True  # 1904.6: not a continuation of a case already recorded
    died: bool = False
    days_away: int = 0
    days_restricted: int = 0  # restricted work or job transfer
    treatment: Treatment = Treatment.none
    loss_of_consciousness: bool = False
    significant_diagnosed: bool = (
        False  # 1904.7(b)(7): cancer, chronic irreversible disease, fracture, punctured eardrum
    )
    contaminated_sharps: bool = False  # 1904.8
    medical_removal: bool = False  # 1904.9
    hearing_loss_sts: bool = False  # 1904.10: standard threshold shift and 25 dB above audiometric zero
    tuberculosis: bool = False  # 1904.11: occupational exposure to active TB, then infected


@dataclass(frozen=True)
class Decision:
    recordable: bool
    basis: str  # every criterion that applied, or why the case is not recordable
    outcome: Outcome | None  # the G-J box when recordable


def _criteria(facts: CaseFacts) -> list[str]:
    met: list[str] = []
    if facts.died:
        met.append("death (1904.7(b)(2))")
    if facts.days_away > 0:
        met.append("days away from work (1904.7(b)(3))")
    if facts.days_restricted > 0:
        met.append("restricted work or job transfer (1904.7(b)(4))")
    if facts.treatment is Treatment.medical_treatment:
        met.append("medical treatment beyond first aid (1904.7(b)(5))")
    if facts.loss_of_consciousness:
        met.append("loss of consciousness (1904.7(b)(6))")
    if facts.significant_diagnosed:
        met.append(
            "significant injury or illness diagnosed by a physician or other licensed health care "
            "professional (1904.7(b)(7))"
        )
    if facts.contaminated_sharps:
        met.append(
            "needlestick or cut from a sharp contaminated with another person's blood or OPIM (1904.8)"
        )
    if facts.medical_removal:
        met.append("medical removal under an OSHA standard (1904.9)")
    if facts.hearing_loss_sts:
        met.append("standard threshold shift in hearing, 25 dB or more above audiometric zero (1904.10)")
    if facts.tuberculosis:
        met.append("tuberculosis infection after occupational exposure (1904.11)")
    return met


def outcome(facts: CaseFacts) -> Outcome:
    """The most serious outcome of a recordable case (check only one of G-J)."""
    if facts.died:
        return Outcome.death
    if facts.days_away > 0:
        return Outcome.days_away
    if facts.days_restricted > 0:
        return Outcome.job_transfer_restriction
    return Outcome.other_recordable


def decide(facts: CaseFacts) -> Decision:
    """Recordable when work-related, a new case, and at least one general (1904.7) or specific
    (1904.8-1904.11) criterion is met. The basis text is stored with the incident."""
    if not facts.work_related:
        return Decision(False, "Not recordable: not work-related (1904.5).", None)
    if not facts.new_case:
        return Decision(
            False, "Not recordable: not a new case, it continues one already recorded (1904.6).", None
        )
    met = _criteria(facts)
    if not met:
        reason = (
            "first aid only (1904.7(b)(5)(ii))"
            if facts.treatment is Treatment.first_aid
            else "no recording criterion of 1904.7 or 1904.8-1904.11 is met yet"
        )
        return Decision(False, f"Not recordable: {reason}.", None)
    return Decision(True, "Recordable: " + "; ".join(met) + ".", outcome(facts))


def case_type_for(facts: CaseFacts, given: CaseType) -> CaseType:
    """Hearing loss (1904.10) goes in M(5) and tuberculosis (1904.11) in M(3), whatever was picked."""
    if facts.hearing_loss_sts:
        return CaseType.hearing_loss
    if facts.tuberculosis:
        return CaseType.respiratory_condition
    return given


def log_days(days_away: int, days_restricted: int) -> tuple[int, int]:
    """Columns K and L: days away first, then restricted days, together at most 180."""
    away = min(max(days_away, 0), MAX_COUNTED_DAYS)
    restricted = min(max(days_restricted, 0), MAX_COUNTED_DAYS - away)
    return away, restricted


def check_privacy(privacy_case: bool, reason: PrivacyReason | None, case_type: CaseType) -> str | None:
    """None when the combination is allowed, else the problem in words (for a 422)."""
    if not privacy_case:
        return None
    if reason is None:
        return (
            "A privacy case needs its reason (29 CFR 1904.29(b)(7)): intimate_body_part, sexual_assault, "
            "mental_illness, hiv_hepatitis_tuberculosis, contaminated_sharps or employee_request."
        )
    if reason is PrivacyReason.employee_request and case_type is CaseType.injury:
        return (
            "An employee's request makes a privacy case only for an illness (1904.29(b)(7)(vi)), "
            "not an injury; pick the illness type or another reason."
        )
    return None


def suggested_privacy(facts: CaseFacts) -> PrivacyReason | None:
    """A privacy reason the facts alone establish: contaminated sharps (b)(7)(v), TB (b)(7)(iv)."""
    if facts.contaminated_sharps:
        return PrivacyReason.contaminated_sharps
    if facts.tuberculosis:
        return PrivacyReason.hiv_hepatitis_tuberculosis
    return None


def establishment_size(annual_average_employees: int | None) -> int | None:
    """The ITA `size` code: 1 = fewer than 20, 21 = 20-99, 22 = 100-249, 3 = 250 or more."""
    if annual_average_employees is None:
        return None
    if annual_average_employees < 20:
        return 1
    if annual_average_employees < 100:
        return 21
    if annual_average_employees < 250:
        return 22
    return 3
