"""The library's exceptions in the command's words: the one place that maps each exception
type to what ``ionq-cancel`` prints (no class names, no Python parameters) and to its exit
code. The library's own messages are left as they are; ``--debug`` shows them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..exceptions import (
    AuthenticationError,
    CancelNotConfirmedError,
    InvalidJobIdError,
    IonQRequestError,
    JobNotFoundError,
    JobNotSubmittedError,
    NoAnswerError,
    RefusedError,
    RetriesExhaustedError,
    UnknownJobStatusError,
    UnreachableError,
    UsageError,
    WrongBaseURLError,
)

__all__ = ["EXIT_CODES", "Why", "describe", "plain", "row_note"]

#: Every exit code of ``ionq-cancel``, and the one thing it means (docs/cli.md lists them).
EXIT_CODES = {
    0: "done: every job cancelled or already final (status: all found), or nothing to do",
    1: "not done: some job not cancelled or not found, or IonQ could not be reached or "
       "did not answer (the outcome of a cancel already sent may be unknown)",
    2: "usage: the command, an input, the API key or the API URL is wrong; nothing was "
       "cancelled",
    130: "interrupted (Ctrl-C); a cancel already sent stays in effect",
    141: "the output pipe was closed (as by '| head')",
    143: "terminated (SIGTERM); a cancel already sent stays in effect",
}

#: Python words in the library's advice, and what a command-line user types instead.
_PYTHON_WORDS = (
    ("pass allow_insecure_http=True", "pass --allow-insecure-http"),
    ("allow_insecure_http=True", "--allow-insecure-http"),
    ("IONQ_API_KEY, or token= of IonQProvider", "IONQ_API_KEY or --api-key-file"),
    ("pass token= to IonQProvider, or set IONQ_API_KEY", "set IONQ_API_KEY, or pass "
     "--api-key-file FILE"),
    ("raise the deadline (RetryPolicy(deadline=...))", "raise --deadline"),
    ("job.job_id() gives it", "the job's id as IonQ shows it"),
)
#: ``ConnectionError (Connection refused)`` -> ``Connection refused``: a class name the
#: library keeps for Python users, taken out of the text a command prints.
_CLASS_NAME = re.compile(r"\b(?:[A-Z][a-z0-9]+)+(?:Error|Exception|Timeout|Warning)\b"
                         r"(?::\s*|\s*\((?P<inner>[^()]*)\))?")


def plain(text: str) -> str:
    """Library text with its Python words replaced by the command's."""
    for python, words in _PYTHON_WORDS:
        text = text.replace(python, words)
    text = _CLASS_NAME.sub(lambda m: m["inner"] or "", text)
    text = re.sub(r"\b1 (job|request|attempt|page)s\b", r"1 \1", text)  # "Cancelling 1 jobs"
    return re.sub(r"\s{2,}", " ", text).replace("( ", "(").replace(" )", ")").strip()


@dataclass(frozen=True)
class Why:
    """How the command stopped: ``expired`` when it reached its ``--deadline`` of
    ``deadline`` seconds (``elapsed``: the seconds since it started), ``interrupted`` the
    word for a signal (``"interrupted"``, ``"terminated"``) when one stopped it."""

    deadline: float
    elapsed: float
    expired: bool = False
    interrupted: str | None = None


def _base(error: IonQRequestError) -> str:
    """The API URL a request went to, without the path after ``/v0.4`` (or, for a URL with
    no version, the ``/jobs...`` the request added to it)."""
    match = re.match(r"(.*?/v\d+(?:\.\d+)?)(?:/|$)", error.url or "")
    if match:
        return match[1]
    return re.sub(r"/jobs(?:[/?].*)?$", "", error.url or "") or "the API URL"


def describe(error: BaseException, why: Why | None = None) -> tuple[str, int]:
    """What to print for ``error`` that stopped a command (what happened, which URL or job,
    what to type next), and the exit code."""
    if isinstance(error, UsageError):
        return plain(str(error)), 2
    if isinstance(error, AuthenticationError):
        refused = "the API key" if error.status_code == 401 else "access"
        return (f"IonQ refused {refused} (HTTP {error.status_code}) at {_base(error)}. "
                "Check IONQ_API_KEY or --api-key-file, and --url or IONQ_API_URL."), 2
    if isinstance(error, WrongBaseURLError):
        hint = plain(error.hint).split("; ", 1)[-1]  # the advice, after the URL again
        return (f"{_base(error)} has no IonQ jobs API (HTTP 404): {hint}. Fix --url or "
                "IONQ_API_URL."), 2
    if isinstance(error, UnreachableError):
        reason = re.search(r"could not reach \S+ \((.*)\)$", error.what)
        return (f"could not reach IonQ at {_base(error)}"
                f"{f' ({plain(reason[1])})' if reason else ''}. Check --url or IONQ_API_URL, "
                "and the network."), 1
    if isinstance(error, NoAnswerError):
        if why is not None and why.expired:
            return (f"{_what(error)}: stopped at --deadline {why.deadline:g} s, after "
                    f"{why.elapsed:.1f} s. Run it again, with a longer --deadline if IonQ is "
                    "slow (its status page is status.ionq.co)."), 1
        if isinstance(error, RetriesExhaustedError):
            return (f"{_what(error)}: no usable answer after {_tries(error.attempts)} over "
                    f"{error.elapsed:.1f} s (last: {plain(error.last)}). Try again later; "
                    "IonQ's status page is status.ionq.co."), 1
        return (f"{_what(error)}: no usable answer. Try again later; IonQ's status page is "
                "status.ionq.co."), 1
    if isinstance(error, IonQRequestError):
        return f"{_what(error)}: {row_note(error, why)}.", 1
    return (f"unexpected error: {plain(str(error)) or 'no details'}. Run again with --debug "
            "for the details, and report it if it persists."), 1


def _what(error: IonQRequestError) -> str:
    """The request's description (``Listing jobs``), first letter lower-cased."""
    what = re.split(r":| failed after ", error.what, maxsplit=1)[0]
    what = plain(what)
    return what[:1].lower() + what[1:]


def row_note(error: Exception, why: Why | None = None) -> str:
    """One line for a job's row: why it was not settled."""
    if isinstance(error, JobNotFoundError):
        return "not found for this API key"
    if isinstance(error, InvalidJobIdError):
        return "not a job id"
    if isinstance(error, JobNotSubmittedError):
        return "never submitted"
    if isinstance(error, AuthenticationError):
        return f"API key refused (HTTP {error.status_code})" \
            if error.status_code == 401 else f"access refused (HTTP {error.status_code})"
    if isinstance(error, WrongBaseURLError):
        return "wrong API URL (HTTP 404)"
    if isinstance(error, CancelNotConfirmedError):
        return f"still {error.status.name} after the cancel"
    if isinstance(error, UnknownJobStatusError):
        return f"IonQ reported an unknown status {str(error.status)[:20]!r}"
    if isinstance(error, NoAnswerError):  # the status column says UNKNOWN; this says why
        if why is not None and why.interrupted:
            return why.interrupted
        if why is not None and why.expired:
            return f"--deadline {why.deadline:g} s reached"
        if isinstance(error, UnreachableError):
            return "IonQ unreachable"
        if isinstance(error, RetriesExhaustedError):
            return f"no usable answer after {_tries(error.attempts)}"
        return "no usable answer"
    if isinstance(error, RefusedError):
        said = f": {plain(error.ionq_message)}" if error.ionq_message else ""
        return f"IonQ refused (HTTP {error.status_code}){said}"
    return plain(str(error)).split(". ")[0] or "failed"


def _tries(count: int) -> str:
    return f"{count} {'try' if count == 1 else 'tries'}"
