"""Licence keys from both forges end up as SPDX ids; unidentified licences are "Other", none is None."""

import pytest

from crawler.forges import licences


@pytest.mark.parametrize(("spdx", "key", "expected"), [
    ("MIT", "mit", "MIT"),
    ("LGPL-3.0", "lgpl-3.0", "LGPL-3.0"),
    ("NOASSERTION", "other", "Other"),
    (None, None, None),
])
def test_github_spdx_ids(spdx, key, expected):
    assert licences.from_github(spdx, key) == expected


@pytest.mark.parametrize(("key", "expected"), [
    ("mit", "MIT"), ("apache-2.0", "Apache-2.0"), ("agpl-3.0", "AGPL-3.0"), ("lgpl-2.1", "LGPL-2.1"),
    ("gpl-3.0", "GPL-3.0"), ("eupl-1.2", "EUPL-1.2"), ("bsd-3-clause", "BSD-3-Clause"), ("mpl-2.0", "MPL-2.0"),
    ("cecill-2.1", "CECILL-2.1"), ("other", "Other"), ("no-such-licence", "Other"), ("MIT", "MIT"),
    (None, None), ("", None),
])
def test_gitlab_keys(key, expected):
    assert licences.from_gitlab(key) == expected
