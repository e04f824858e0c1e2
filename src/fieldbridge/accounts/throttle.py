"""Sign-in throttling: growing delays per source, and a capped per-account delay.

Two counters guard every sign-in, both counted *before* the credentials are checked (so ten
concurrent guesses from one phone get five checks, not ten) and in the request's own unit of
work (no second pooled connection; a refused sign-in still commits its count):

- the source, i.e. one company code (or email) from one device or client address: five free
  failures, then it waits 30 s, 60 s, 120 s ... up to 15 minutes. Only that source waits.
- the account (a company's phones, or an email): after 20 failures from any sources it waits
  too, but never longer than a minute, so rotating devices or addresses buys an attacker about
  one guess a minute while the owner is slowed, not locked out.

A right sign-in clears its source and takes its attempt back from the account. Counts are
forgotten after `signin_window_seconds` without attempts. Admins clear them (`reset_company`).
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts.models import SignInThrottle
from fieldbridge.accounts.repository import ThrottleRepository, UserRepository
from fieldbridge.accounts.schemas import SignInBlockOut
from fieldbridge.kit.errors import TooManyRequests
from fieldbridge.settings import Settings

CLEAR_HINT = "An admin can clear sign-in blocks under Settings → Users."


@dataclass(frozen=True)
class Keys:
    account: str
    source: str
    what: str  # how the refusal names the source to a person


@dataclass(frozen=True)
class Counted:
    keys: Keys
    source: int
    account: int


def phone_keys(company_code: str, source: str) -> Keys:
    account = f"pin:{company_code.strip().upper()}"
    return Keys(account, f"{account}:{source}", "this phone")


def user_keys(email: str, source: str) -> Keys:
    account = f"user:{email.strip().lower()}"
    return Keys(account, f"{account}:{source}", "this browser")


def company_prefixes(company_code: str, emails: list[str]) -> list[str]:
    return [f"pin:{company_code.strip().upper()}", *(f"user:{e}" for e in emails)]


def _delay(settings: Settings, over: int, cap: int) -> timedelta:
    """The wait after the `over`-th failure past the free ones (0 = the last free one)."""
    return timedelta(seconds=min(cap, settings.signin_delay_seconds * 2 ** min(over, 30)))


async def _refuse(repo: ThrottleRepository, key: str, message: str, now: datetime) -> TooManyRequests:
    until = await repo.blocked_until(key)
    seconds = max(1, math.ceil((until - now).total_seconds())) if until else 1
    return TooManyRequests(
        f"{message} Wait {seconds} seconds and try again. {CLEAR_HINT}",
        code="sign_in_throttled",
        details={"retry_after_seconds": seconds},
        headers={"Retry-After": str(seconds)},
    )


async def count_attempt(session: AsyncSession, settings: Settings, keys: Keys, now: datetime) -> Counted:
    """Count this attempt on both keys, or refuse it (429) while either waits."""
    repo = ThrottleRepository.from_session(session)
    window_start = now - timedelta(seconds=settings.signin_window_seconds)
    source = await repo.count_attempt(keys.source, now, window_start)
    if source is None:
        raise await _refuse(repo, keys.source, f"Too many failed sign-ins from {keys.what}.", now)
    account = await repo.count_attempt(keys.account, now, window_start)
    if account is None:
        await repo.uncount(keys.source)  # not checked, so not a failure of this source
        raise await _refuse(repo, keys.account, "Too many failed sign-ins for this account lately.", now)
    return Counted(keys, source, account)


async def failed(session: AsyncSession, settings: Settings, counted: Counted, now: datetime) -> None:
    repo = ThrottleRepository.from_session(session)
    over = counted.source - settings.signin_free_failures
    if over >= 0:
        await repo.block(counted.keys.source, now + _delay(settings, over, settings.signin_max_delay_seconds))
    over = counted.account - settings.signin_account_free_failures
    if over >= 0:
        cap = settings.signin_account_max_delay_seconds
        await repo.block(counted.keys.account, now + _delay(settings, over, cap))


async def succeeded(session: AsyncSession, counted: Counted) -> None:
    repo = ThrottleRepository.from_session(session)
    await repo.clear(counted.keys.source)
    await repo.uncount(counted.keys.account)


async def _prefixes(session: AsyncSession, company_id: int, company_code: str) -> list[str]:
    # An email that another company also uses is left out: its counters guard that company too.
    emails = await UserRepository.from_session(session).emails_only_here(company_id)
    return company_prefixes(company_code, emails)


def describe(row: SignInThrottle) -> SignInBlockOut:
    kind, _, rest = row.key.partition(":")
    account, _, source = rest.partition(":")
    assert row.blocked_until is not None
    return SignInBlockOut(
        kind="phones" if kind == "pin" else "admin",
        account=account,
        source=source or None,
        failures=row.failures,
        blocked_until=row.blocked_until,
    )


async def blocks_of_company(
    session: AsyncSession, company_id: int, company_code: str, now: datetime
) -> list[SignInBlockOut]:
    """The company's sign-in sources and accounts that wait right now."""
    prefixes = await _prefixes(session, company_id, company_code)
    return [describe(r) for r in await ThrottleRepository.from_session(session).list_under(prefixes, now)]


async def reset_company(session: AsyncSession, company_id: int, company_code: str) -> int:
    """Forget every failed sign-in of the company's phones and of its admins' emails."""
    prefixes = await _prefixes(session, company_id, company_code)
    return await ThrottleRepository.from_session(session).clear_under(prefixes)
