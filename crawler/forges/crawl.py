"""The one loop every forge adapter fills in: crawl one account into an `AccountCrawl`, whatever happens.

An adapter subclasses `AccountCrawler` and writes `run()`: open the account, list it page by page into `records`
(`complete` once the last page is read), fetch the details of what changed. `result()` is the same for every
forge: it runs the crawl, turns any failure into the account's outcome (an adapter never raises for a forge-side
problem), scrubs every secret from the message, closes the connections and assembles the records. What is kept
of a failed crawl is decided by the index: nothing is marked gone unless the crawl is complete and successful.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter

from crawler.forges.base import Clock, KnownState, Target
from crawler.forges.http import ForgeHttp, outcome_of
from crawler.secrets import redact
from crawler.wording import plural
from index.records import (
    AccountCrawl,
    AccountRecord,
    CrawlCost,
    HttpValidator,
    OutcomeStatus,
    RepositoryRecord,
)

ERROR_LENGTH = 500  # an outcome's message is for a person: the first lines say what happened


class CrawlStopped(Exception):
    """The account's crawl cannot go on, for a reason its outcome names (not found, token refused, unsupported)."""

    def __init__(self, status: OutcomeStatus, message: str):
        super().__init__(message)
        self.status = status


class AccountCrawler(ABC):
    """The mutable state of one account's crawl, and the loop around it."""

    def __init__(self, target: Target, known: KnownState, clock: Clock):
        self.target = target
        self.known = known
        self.clock = clock
        self.started_at = clock.now()
        self.account: AccountRecord | None = None
        self.records: dict[int, RepositoryRecord] = {}
        self.unchanged: set[int] = set()  # ids a conditional request confirmed unchanged (not re-sent)
        self.validators: dict[str, HttpValidator] = {}
        self.complete = False  # the whole listing was read

    @abstractmethod
    def run(self) -> None:
        """Open the account, list it into `records`, fetch details; raise to end the crawl with an outcome."""

    @abstractmethod
    def close(self) -> None:
        """Release the connections of this crawl (it is called whatever happened)."""

    @abstractmethod
    def cost(self) -> CrawlCost:
        """The requests and rate-limit points this crawl spent."""

    def outcome(self, exc: Exception) -> tuple[OutcomeStatus, str]:
        """How an unexpected failure ends the crawl; the message is scrubbed afterwards."""
        return outcome_of(exc)

    def scrub(self, text: str) -> str:
        """The message without anything that looks like a secret."""
        return redact(text)

    def finished_account(self, status: OutcomeStatus) -> AccountRecord | None:
        """The account as stored: adapters that count repositories themselves set the count here."""
        return self.account

    def stale_note(self) -> str | None:
        """For an ok crawl whose some details kept failing: which ones, for the outcome (and `codeindex runs`)."""
        stale = Counter(detail for record in self.records.values() for detail in record.stale)
        if not stale:
            return None
        repositories = sum(1 for record in self.records.values() if record.stale)
        details = ", ".join(f"{detail} ({count})" for detail, count in sorted(stale.items()))
        return (f"{plural(repositories, 'repository', 'repositories')} keep{'s' if repositories == 1 else ''} older "
                f"details, as a request kept failing: {details}; "
                "the next run fetches them first")

    def outcome_login(self) -> str:
        """The account's name in the outcome: its login, or the host for a whole instance."""
        return self.target.login or self.target.host

    def result(self) -> AccountCrawl:
        status, error = OutcomeStatus.OK, None
        try:
            self.run()
        except CrawlStopped as stop:
            status, error = stop.status, str(stop)
        except Exception as exc:  # noqa: BLE001 - every failure becomes the account's outcome, never an exception
            status, error = self.outcome(exc)
        finally:
            self.close()
        if status == OutcomeStatus.OK:
            error = self.stale_note()
        return AccountCrawl(
            forge_host=self.target.host, login=self.outcome_login(), status=status, account=self.finished_account(status),
            repositories=tuple(self.records.values()), unchanged_ids=tuple(sorted(self.unchanged)),
            complete=status == OutcomeStatus.OK and self.complete,
            error=self.scrub(error)[:ERROR_LENGTH] if error else None, cost=self.cost(),
            validators=tuple(self.validators.values()), started_at=self.started_at, finished_at=self.clock.now(),
        )


class HttpAccountCrawler(AccountCrawler):
    """An account crawled through `ForgeHttp`, the shared retry and rate-limit policy (GitHub, Gitea)."""

    def __init__(self, target: Target, known: KnownState, clock: Clock, http: ForgeHttp):
        super().__init__(target, known, clock)
        self.http = http

    def close(self) -> None:
        self.http.close()

    def cost(self) -> CrawlCost:
        return self.http.cost.snapshot()

    def scrub(self, text: str) -> str:
        return super().scrub(self.http.scrub(text))  # the pool's own tokens first, whatever their shape
