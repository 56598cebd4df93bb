"""The publiccode.yml standard's closed vocabularies (https://yml.publiccode.tools, v0), as the reference parser
(italia/publiccode-parser-go) applies them, and the data files it checks against (see data/README.md).

Languages are checked against the IANA subtag registry (langcodes), countries against ISO 3166-1 (pycountry),
licences against the SPDX list (license-expression); all three work offline.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from importlib import resources

import langcodes
import pycountry
from license_expression import ExpressionError

from crawler.forges.licences import LICENSING_LOCK, licensing

SUPPORTED_VERSIONS = ("0", "0.2", "0.2.0", "0.2.1", "0.2.2", "0.3", "0.3.0", "0.4", "0.4.0", "0.5", "0.5.0", "0.7",
                      "0.7.0")
LATEST_VERSION = "0.7"
DEVELOPMENT_STATUSES = ("concept", "development", "beta", "stable", "obsolete")
SOFTWARE_TYPES = ("standalone/mobile", "standalone/iot", "standalone/desktop", "standalone/web",
                  "standalone/backend", "standalone/other", "addon", "library", "configurationFiles")
MAINTENANCE_TYPES = ("internal", "contract", "community", "none")
IT_EXTENSION_VERSIONS = ("0.2", "1.0")
SUPPORTS_ALIASES = frozenset({"gdpr", "eidas", "nis2", "cra", "spid", "cie", "anpr", "pagopa", "io"})

CATEGORIES = frozenset("""
accounting agile-project-management applicant-tracking application-development appointment-scheduling backup
billing-and-invoicing blog budgeting business-intelligence business-process-management cad call-center-management
cloud-management collaboration communications compliance-management contact-management content-management crm
customer-service-and-support data-analytics data-collection data-visualization design design-system
digital-asset-management digital-citizenship document-management donor-management e-commerce e-signature
educational-content email-management email-marketing employee-management enterprise-project-management
enterprise-social-networking erp event-management facility-management feedback-and-reviews-management
financial-reporting fleet-management fundraising gamification geographic-information-systems grant-management
graphic-design help-desk hr ide identity-management instant-messaging integrated-library-system inventory-management
it-asset-management it-development it-management it-security it-service-management knowledge-management
learning-management-system marketing mind-mapping mobile-marketing mobile-payment network-management office
online-booking online-community payment-gateway payroll predictive-analysis procurement productivity-suite
project-collaboration project-management property-management real-estate-management regulations-and-directives
remote-support resource-management sales-management seo service-desk social-media-management survey
talent-management task-management taxes-management test-management time-management time-tracking translation
video-conferencing video-editing visitor-management voip warehouse-management web-collaboration web-conferencing
whistleblowing website-builder workflow-management other
""".split())

SCOPES = frozenset("""
agriculture culture defence education emergency-services employment energy environment
finance-and-economic-development foreign-affairs government healthcare infrastructures justice local-authorities
manufacturing research science-and-technology security society sport tourism transportation welfare
""".split())

# RFC 5646 shape (language, script, region, variants, extensions, private use); subtags are then looked up
_LANGUAGE_TAG = re.compile(
    r"^(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{5,8})(?:-[a-z]{4})?(?:-(?:[a-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*(?:-[a-wyz0-9](?:-[a-z0-9]{2,8})+)*(?:-x(?:-[a-z0-9]{1,8})+)?$"
    r"|^x(?:-[a-z0-9]{1,8})+$", re.IGNORECASE)
_MIME_TYPE = re.compile(r"^ *[A-Za-z0-9][A-Za-z0-9!#$&^_-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126} *$")
# the address shape HTML forms accept (WHATWG), which is what the parser's e-mail rule amounts to in practice
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_DATA = resources.files("crawler.forges.publiccode").joinpath("data")


def is_language_tag(tag: str) -> bool:
    """A strict BCP 47 tag: hyphens only (no POSIX "en_GB"), every subtag in the IANA registry."""
    return bool(_LANGUAGE_TAG.match(tag)) and langcodes.tag_is_valid(tag)


def is_country(code: str) -> bool:
    """ISO 3166-1 alpha-2, all upper or all lower case (the standard deprecates lower case)."""
    if code not in (code.upper(), code.lower()) or len(code) != 2:
        return False
    return pycountry.countries.get(alpha_2=code.upper()) is not None


def is_mime_type(value: str) -> bool:
    return bool(_MIME_TYPE.match(value))


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def is_spdx_expression(value: str) -> bool:
    """A valid SPDX licence expression ("AGPL-3.0-or-later", "MIT OR Apache-2.0", "Apache-2.0 WITH LLVM-exception")."""
    if not value.strip():
        return False
    try:
        with LICENSING_LOCK:
            result = licensing().validate(value, strict=True)
    except ExpressionError:
        return False
    return not result.errors


@functools.cache
def ipa_codes() -> frozenset[str]:
    """Italian public administrations' iPA codes, lower case."""
    with gzip.open(str(_DATA.joinpath("ipa_codes.txt.gz")), "rt", encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle if line.strip())


@functools.cache
def _oembed() -> re.Pattern[str]:
    schemes = json.loads(_DATA.joinpath("oembed_schemes.json").read_text("utf-8"))
    return re.compile("|".join("^" + re.escape(s).replace(r"\*", ".*") + "$" for s in schemes))


def is_oembed_url(url: str) -> bool:
    """The URL matches a scheme of an oEmbed provider (https://oembed.com/providers.json)."""
    return bool(_oembed().match(url))
