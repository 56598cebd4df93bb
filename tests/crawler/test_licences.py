"""One normaliser for every forge's licence key: current SPDX ids, "Other" for an unidentified licence, None for none."""

import pytest

from crawler.forges import licences
from crawler.forges.licences import normalise
from index.licences import EXTRA_KEYS, LICENCES


@pytest.mark.parametrize(("key", "expected"), [
    # GitLab before Gitaly's detection, and GitHub's `key`: licensee's keys
    ("mit", "MIT"), ("apache-2.0", "Apache-2.0"), ("agpl-3.0", "AGPL-3.0-only"), ("lgpl-2.1", "LGPL-2.1-only"),
    ("gpl-3.0", "GPL-3.0-only"), ("eupl-1.2", "EUPL-1.2"), ("bsd-3-clause", "BSD-3-Clause"), ("mpl-2.0", "MPL-2.0"),
    ("cecill-2.1", "CECILL-2.1"), ("cecill-b", "CECILL-B"), ("osl-3.0", "OSL-3.0"), ("unlicense", "Unlicense"),
    # recent GitLab (Gitaly): the SPDX id in lower case, with or without -only / -or-later
    ("gpl-3.0-or-later", "GPL-3.0-or-later"), ("agpl-3.0-only", "AGPL-3.0-only"), ("etalab-2.0", "etalab-2.0"),
    ("lgpl-2.1-or-later", "LGPL-2.1-or-later"), ("gpl-2.0-only", "GPL-2.0-only"), ("cecill-c", "CECILL-C"),
    # GitHub's spdx_id and Gitea's ids, as they are spelt
    ("GPL-3.0", "GPL-3.0-only"), ("AGPL-3.0", "AGPL-3.0-only"), ("LGPL-2.1", "LGPL-2.1-only"), ("MIT", "MIT"),
    ("GPL-3.0-or-later", "GPL-3.0-or-later"), ("CECILL-2.1", "CECILL-2.1"), ("GPL-2.0+", "GPL-2.0-or-later"),
    # a licence nobody identified, and none
    ("other", "Other"), ("NOASSERTION", "Other"), ("LicenseRef-Custom", "Other"), ("no-such-licence", "Other"),
    ("no-license", None), ("NONE", None), ("none", None), ("", None), ("  ", None), (None, None),
])
def test_every_key_form(key, expected):
    assert normalise(key) == expected


def test_every_licensee_key_the_forges_use_is_an_spdx_licence():
    for key in [*LICENCES, *EXTRA_KEYS]:
        assert normalise(key) not in (None, "Other"), key


def test_a_display_name_identifies_an_unknown_key():
    assert normalise("custom-key", name="MIT License") == "MIT"
    assert normalise("custom-key", name="GPL-3.0-or-later") == "GPL-3.0-or-later"
    assert normalise("custom-key", name="Something") == "Other"


@pytest.mark.parametrize(("spdx", "key", "expected"), [
    ("MIT", "mit", "MIT"),
    ("LGPL-3.0", "lgpl-3.0", "LGPL-3.0-only"),
    ("OSL-3.0", "osl-3.0", "OSL-3.0"),
    ("NOASSERTION", "other", "Other"),
    ("NOASSERTION", "agpl-3.0", "AGPL-3.0-only"),
    (None, None, None),
])
def test_github_spdx_ids(spdx, key, expected):
    assert licences.from_github(spdx, key) == expected


def test_the_same_licence_is_the_same_id_from_every_forge():
    from crawler.forges.gitea.mapping import licence_of as gitea
    from crawler.forges.github.mapping import repo_from_rest
    from crawler.forges.gitlab.mapping import licence_of as gitlab

    github = repo_from_rest({"id": 1, "full_name": "a/b", "name": "b", "html_url": "https://github.com/a/b",
                             "license": {"key": "osl-3.0", "spdx_id": "OSL-3.0"}}).license_spdx
    for gitlab_key in ("osl-3.0", "OSL-3.0"):
        assert gitlab({"license": {"key": gitlab_key, "name": "Open Software License 3.0"}}) == github == "OSL-3.0"
    assert gitea({"licenses": ["OSL-3.0"]}) == "OSL-3.0"
    assert gitlab({"license": {"key": "no-license"}}) is None and gitlab({"license": None}) is None


def test_threads_normalising_at_once_agree():
    """GitLab's detail pool normalises from several threads: the SPDX parser must not mix their answers up."""
    from concurrent.futures import ThreadPoolExecutor

    keys = [k for k in [*LICENCES, *EXTRA_KEYS, "gpl-3.0-or-later", "etalab-2.0"]] * 20
    licences.spdx_id.cache_clear()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(normalise, keys))
    assert "Other" not in results and None not in results
