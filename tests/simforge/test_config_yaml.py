"""The configuration the simulated forge writes for codeindex lists accounts where codeindex expects them."""

from crawler.config.model import NEVER_WHOLE
from simforge.server import LISTED_BY_ACCOUNT


def test_the_simulated_forge_lists_by_account_the_hosts_the_crawler_never_crawls_whole():
    """simforge keeps its own copy (it imports nothing of the crawler): the two must not drift apart."""
    assert LISTED_BY_ACCOUNT == NEVER_WHOLE
