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


def test_github_object_for_unknown_key_is_noassertion():
    obj = licences.github_license_object("other", "http://x/api/v3")
    assert obj["spdx_id"] == "NOASSERTION" and obj["key"] == "other"
    assert licences.github_license_object(None, "http://x") is None


def test_export_names_map_back_to_keys():
    assert licences.key_for_name("GNU Affero General Public License v3.0") == "agpl-3.0"
    assert licences.key_for_name("Other") == "other"
    assert licences.key_for_name("") is None
