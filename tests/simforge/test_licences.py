"""The simulated forge shows licences as GitHub does, and reads the seed's display names back to keys."""

from simforge import licences


def test_github_object_for_unknown_key_is_noassertion():
    obj = licences.github_license_object("other", "http://x/api/v3")
    assert obj["spdx_id"] == "NOASSERTION" and obj["key"] == "other"
    assert licences.github_license_object(None, "http://x") is None


def test_export_names_map_back_to_keys():
    assert licences.key_for_name("GNU Affero General Public License v3.0") == "agpl-3.0"
    assert licences.key_for_name("Other") == "other"
    assert licences.key_for_name("") is None
