"""Running a console action so that a refusal leaves nothing behind and says why.

Each action runs in a savepoint of the request's transaction: if the domain refuses it
(a note missing, a sanctions match unresolved, more refunded than captured...), the
savepoint is rolled back, the page is shown again with the reason, and the unit of
work rolls back the rest (the response is a 4xx). Anything the domain did not raise
as a refusal is a bug and propagates to the error page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.orm import Session

from api.console.form_input import FormProblem
from api.errors import ApiError, as_api_error
from compliance.reviews import ReviewError
from compliance.rules.store import RuleSetNotFound
from core.database import is_retryable
from payments.intent_state import IntentStateError
from payments.intents import PaymentError
from payments.webhooks import EndpointError
from settlement.ledger import LedgerError
from settlement.payouts import BankFileMissing, PayoutError, PayoutStateError
from settlement.reconciliation import ReconciliationError, StatementRefused

REFUSALS: Final[tuple[type[BaseException], ...]] = (
    FormProblem,
    ReviewError,
    RuleSetNotFound,
    PaymentError,
    IntentStateError,
    PayoutError,
    PayoutStateError,
    BankFileMissing,
    LedgerError,
    ReconciliationError,
    StatementRefused,
    EndpointError,
    ApiError,
)


@dataclass(frozen=True)
class Problem:
    """Why an action was refused: a stable ``code`` the page translates, and the detail."""

    code: str
    detail: str
    field: str | None = None
    status: int = 400


def problem_of(exc: BaseException) -> Problem | None:
    """The refusal an exception stands for, or ``None`` if it is not a refusal."""
    if isinstance(exc, FormProblem):
        return Problem("form", str(exc), exc.field, 422)
    if isinstance(exc, ReviewError):
        return Problem(exc.code, str(exc), None, 409)
    if isinstance(exc, StatementRefused):
        return Problem("statement_refused", str(exc), "file", 422)
    if isinstance(exc, ReconciliationError):
        return Problem(exc.code, str(exc), exc.param, 400)
    api_error = as_api_error(exc)
    if api_error is not None:
        return Problem(api_error.code or "refused", api_error.message, api_error.param, 400)
    if isinstance(exc, REFUSALS):
        code = getattr(exc, "code", None)
        return Problem(str(code or "refused"), str(exc), getattr(exc, "param", None), 400)
    return None


def attempt(session: Session, work: Callable[[], Any]) -> tuple[Any, Problem | None]:
    """Run ``work`` in a savepoint; a refusal rolls it back and is returned, not raised."""
    try:
        with session.begin_nested():
            return work(), None
    except Exception as exc:
        if is_retryable(exc):
            raise
        problem = problem_of(exc)
        if problem is None:
            raise
        return None, problem
