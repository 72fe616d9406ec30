"""What a batch cancel prints and raises: the report's words, counts and table, the progress
bar, and ``BatchCancelError``; against the emulator."""

from __future__ import annotations

import uuid

import pytest

from qiskit_ionq_cancel import BatchCancelError, IonQProvider, IonQRequestError, cancel_jobs
from qiskit_ionq_cancel.emulator import Emulator
from qiskit_ionq_cancel.report import plural

KEY = "report-test-key-0b5e1d"


pytestmark = pytest.mark.emu(api_keys=[KEY], queue_time=3600, clock=None)


@pytest.fixture
def provider(emu: Emulator) -> IonQProvider:
    return IonQProvider(KEY, url=emu.url)


def test_plural() -> None:
    assert [plural(n, "job") for n in (0, 1, 2)] == ["0 jobs", "1 job", "2 jobs"]


def test_an_invalid_id_is_counted_as_invalid_not_unknown(emu: Emulator,
                                                         provider: IonQProvider) -> None:
    ids = emu.store.add_jobs(1)
    report = cancel_jobs([*ids, "not-an-id"], provider=provider)
    assert report.counts == {"cancelled": 1, "already_final": 0, "not_found": 0,
                             "invalid": 1, "failed": 0, "not_reached": 0, "total": 2}
    assert report.invalid == ["#1 'not-an-id'"] and report.failed == []
    text = str(report)
    assert text.startswith("2 jobs: 1 cancelled, 0 already finished, 0 not found, 1 invalid, "
                           "0 unknown (")
    assert any(line.split()[:3] == ["#1", "'not-an-id'", "INVALID"]
               for line in text.splitlines())


def test_one_job_is_one_job(emu: Emulator, provider: IonQProvider) -> None:
    text = str(cancel_jobs(emu.store.add_jobs(1), provider=provider))
    assert text.startswith("1 job: 1 cancelled") and "1 jobs" not in text


def test_no_table_header_when_nothing_matched(emu: Emulator, provider: IonQProvider) -> None:
    report = cancel_jobs(status="ready", provider=provider)
    assert report.total == 0
    assert "job id" not in str(report) and len(str(report).splitlines()) == 1


def test_error_text_is_wrapped_at_words_never_cut(emu: Emulator,
                                                  provider: IonQProvider) -> None:
    missing = str(uuid.UUID(int=5, version=4))
    report = cancel_jobs([missing], provider=provider)
    error = report.errors[missing]
    lines = str(report).splitlines()[2:]  # the row and its continuation lines
    shown = " ".join(line.strip() for line in lines).replace(missing + "  NOT FOUND", "", 1)
    assert " ".join(f"{type(error).__name__}: {error}".split()) == " ".join(shown.split())
    full_words = set(f"{type(error).__name__}: {error}".split())
    assert all(word in full_words for line in lines for word in line.split()
               if word not in (missing, "NOT", "FOUND"))
    assert len(lines) > 1


def test_raise_for_errors_says_what_it_raises_for(emu: Emulator,
                                                  provider: IonQProvider) -> None:
    missing = str(uuid.UUID(int=6, version=4))
    report = cancel_jobs([*emu.store.add_jobs(1), missing, "bad-id"], provider=provider)
    with pytest.raises(BatchCancelError) as info:
        report.raise_for_errors()
    text = str(info.value)
    assert text.startswith("2 of 3 job(s) not confirmed cancelled or already finished (not "
                           "found, invalid, outcome unknown or not reached)")
    assert ".;" not in text and ".." not in text
    assert missing in text and "bad-id" in text
    cancel_jobs(emu.store.add_jobs(1), provider=provider).raise_for_errors()  # all settled


def test_the_progress_bar_counts_distinct_jobs(emu: Emulator, provider: IonQProvider,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    first, second = emu.store.add_jobs(2)
    report = cancel_jobs([first, second, first], provider=provider, progress=True)
    assert report.total == 2
    final = capsys.readouterr().err.rstrip().split("\r")[-1]
    assert "2/2" in final and "/3" not in final


def test_a_message_ending_in_a_full_stop_gets_no_second_one() -> None:
    error = IonQRequestError("Cancelling job", status_code=400, ionq_message="Bad request.",
                             hint="Check the id")
    assert str(error) == "Cancelling job (HTTP 400). IonQ says: Bad request. Check the id"
