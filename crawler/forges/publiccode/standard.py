"""The publiccode.yml v0 schema walked key by key (the parser's PublicCodeV0 and its field checks)."""

from __future__ import annotations

from typing import Any

import crawler.forges.publiccode.vocab as vocab
from crawler.forges.publiccode.rules import DEPRECATED_DROP, Checker, _organisation_uri, _supports_id, is_url

TOP = ("publiccodeYmlVersion", "name", "applicationSuite", "url", "landingURL", "isBasedOn", "softwareVersion",
       "releaseDate", "logo", "monochromeLogo", "organisation", "inputTypes", "outputTypes", "platforms",
       "categories", "usedBy", "fundedBy", "roadmap", "developmentStatus", "softwareType", "supports",
       "intendedAudience", "description", "legal", "maintenance", "localisation", "dependsOn", "IT", "it")
ORGANISATION = ("name", "uri")
DESCRIPTION = ("localisedName", "genericName", "shortDescription", "longDescription", "documentation",
               "apiDocumentation", "features", "screenshots", "videos", "awards")
LEGAL = ("license", "mainCopyrightOwner", "repoOwner", "authorsFile")
MAINTENANCE = ("type", "contractors", "contacts")
CONTRACTOR = ("name", "email", "website", "until")
CONTACT = ("name", "email", "affiliation", "phone")
DEPENDENCY = ("name", "versionMin", "versionMax", "optional", "version")
AUDIENCE = ("scope", "countries", "unsupportedCountries")
ITALY = ("countryExtensionVersion", "conforme", "riuso", "piattaforme")
CONFORME = ("lineeGuidaDesign", "modelloInteroperabilita", "misureMinimeSicurezza", "gdpr")
PIATTAFORME = ("spid", "pagopa", "cie", "anpr", "io")
LOGO = (".svg", ".svgz", ".png")
IMAGE = (".jpg", ".png")
LOWER_COUNTRY = "Lowercase country codes are DEPRECATED. Use uppercase instead ('{}')"


def check_v0(data: dict[str, Any], version: str) -> Checker:
    """Every rule of the v0 standard that needs neither the network nor the repository's other files."""
    c = Checker()
    if version != "0" and not version.startswith("0.7"):
        c.warn("publiccodeYmlVersion",
               f"v{version} is not the latest version, use '0'. Parsing this file as v{vocab.LATEST_VERSION}.")
    top = c.mapping(data, "", TOP)
    c.required(c.string(top.get("name"), "name"), "name")
    c.string(top.get("applicationSuite"), "applicationSuite")
    c.string(top.get("softwareVersion"), "softwareVersion")
    if c.required(c.string(top.get("url"), "url"), "url") is not None:
        c.url(top.get("url"), "url", is_url)
    c.url(top.get("landingURL"), "landingURL")
    c.url(top.get("roadmap"), "roadmap")
    based = top.get("isBasedOn")
    c.each(c.strings([based] if isinstance(based, str) else based, "isBasedOn"), "isBasedOn", is_url,
           "must be a valid URL")
    c.date(top.get("releaseDate"), "releaseDate", required=False)
    c.file(top.get("logo"), "logo", LOGO)
    if top.get("monochromeLogo"):
        c.warn("monochromeLogo", "This key is DEPRECATED and will be removed in the future. Use 'logo' instead")
    c.file(top.get("monochromeLogo"), "monochromeLogo", LOGO)
    organisation = c.mapping(top.get("organisation"), "organisation", ORGANISATION)
    if "organisation" in top and top["organisation"] is not None:
        _organisation(c, organisation, "organisation")
    for key in ("inputTypes", "outputTypes"):
        types = c.strings(top.get(key), key)
        if types is not None:
            c.warn(key, DEPRECATED_DROP)
        c.each(types, key, vocab.is_mime_type, "is not a valid MIME type")
    c.non_empty(c.strings(top.get("platforms"), "platforms"), "platforms")
    c.each(c.strings(top.get("categories"), "categories"), "categories", vocab.CATEGORIES.__contains__,
           "must be a valid category")
    c.strings(top.get("usedBy"), "usedBy")
    for key, funder in c.structs(top.get("fundedBy"), "fundedBy", ORGANISATION) or ():
        _organisation(c, funder, key)
    c.oneof(c.string(top.get("developmentStatus"), "developmentStatus"), "developmentStatus",
            vocab.DEVELOPMENT_STATUSES)
    c.oneof(c.string(top.get("softwareType"), "softwareType"), "softwareType", vocab.SOFTWARE_TYPES)
    for key, support in c.structs(top.get("supports"), "supports", ("id",)) or ():
        ident = c.required(c.string(support.get("id"), f"{key}.id"), f"{key}.id")
        problem = _supports_id(ident, f"{key}.id") if ident else None
        if problem:
            c.error(*problem)
    _audience(c, c.mapping(top.get("intendedAudience"), "intendedAudience", AUDIENCE))
    _description(c, top.get("description"))
    _legal(c, c.mapping(top.get("legal"), "legal", LEGAL))
    _maintenance(c, c.mapping(top.get("maintenance"), "maintenance", MAINTENANCE))
    localisation = c.mapping(top.get("localisation"), "localisation", ("localisationReady", "availableLanguages"))
    if c.boolean(localisation.get("localisationReady"), "localisation.localisationReady") is None:
        c.error("localisation.localisationReady", "localisationReady is a required field")
    languages = c.strings(localisation.get("availableLanguages"), "localisation.availableLanguages")
    if languages is None:
        c.error("localisation.availableLanguages", "availableLanguages is a required field")
    else:
        c.non_empty(languages, "localisation.availableLanguages")
        c.each(languages, "localisation.availableLanguages", vocab.is_language_tag, "must be a valid BCP 47 language")
    depends = c.mapping(top.get("dependsOn"), "dependsOn", ("open", "proprietary", "hardware"))
    for kind in ("open", "proprietary", "hardware"):
        for key, dep in c.structs(depends.get(kind), f"dependsOn.{kind}", DEPENDENCY) or ():
            c.required(c.string(dep.get("name"), f"{key}.name"), f"{key}.name")
            for field in ("versionMin", "versionMax", "version"):
                c.string(dep.get(field), f"{key}.{field}")
            c.boolean(dep.get("optional"), f"{key}.optional")
    _italy(c, top)
    return c


def _organisation(c: Checker, org: dict[str, Any], key: str) -> None:
    c.string(org.get("name"), f"{key}.name")
    uri = c.required(c.string(org.get("uri"), f"{key}.uri"), f"{key}.uri")
    problem = _organisation_uri(uri, f"{key}.uri") if uri else None
    if problem:
        c.error(*problem)


def _audience(c: Checker, audience: dict[str, Any]) -> None:
    c.each(c.strings(audience.get("scope"), "intendedAudience.scope"), "intendedAudience.scope",
           vocab.SCOPES.__contains__, "must be a valid scope")
    for field in ("countries", "unsupportedCountries"):
        key = f"intendedAudience.{field}"
        countries = c.strings(audience.get(field), key)
        c.each(countries, key, vocab.is_country, "must be a valid ISO 3166-1 alpha-2 two-letter country code")
        for i, code in enumerate(countries or ()):
            if vocab.is_country(code) and code == code.lower():
                c.warn(f"{key}[{i}]", LOWER_COUNTRY.format(code.upper()))


def _description(c: Checker, value: Any) -> None:
    if value is not None and not isinstance(value, dict):
        c.error("description", "wrong type for this field")
        return
    languages = value or {}
    if not languages:
        c.error("description", "description must contain more than 0 items")
    if any(not isinstance(lang, str) or not vocab.is_language_tag(lang) for lang in languages):
        c.error("description", "description must be a valid BCP 47 language")
    for lang, block in languages.items():
        key = f"description.{lang}"
        desc = c.mapping(block, key, DESCRIPTION)
        c.string(desc.get("localisedName"), f"{key}.localisedName")
        generic = c.string(desc.get("genericName"), f"{key}.genericName")
        if generic:
            c.warn(f"{key}.genericName", DEPRECATED_DROP)
            if c.graphemes(generic) > 35:
                c.error(f"{key}.genericName", "genericName must be a maximum of 35 characters in length")
        short = c.required(c.string(desc.get("shortDescription"), f"{key}.shortDescription"), f"{key}.shortDescription")
        if short and c.graphemes(short) > 150:
            c.error(f"{key}.shortDescription", "shortDescription must be a maximum of 150 characters in length")
        long = c.required(c.string(desc.get("longDescription"), f"{key}.longDescription"), f"{key}.longDescription")
        if long and c.graphemes(long) < 150:
            c.error(f"{key}.longDescription", "longDescription must be at least 150 characters in length")
        if long and c.graphemes(long) > 10000:
            c.error(f"{key}.longDescription", "longDescription must be a maximum of 10000 characters in length")
        c.url(desc.get("documentation"), f"{key}.documentation")
        c.url(desc.get("apiDocumentation"), f"{key}.apiDocumentation")
        c.non_empty(c.strings(desc.get("features"), f"{key}.features"), f"{key}.features")
        for i, shot in enumerate(c.strings(desc.get("screenshots"), f"{key}.screenshots") or ()):
            c.file(shot, f"{key}.screenshots[{i}]", IMAGE)
        for i, video in enumerate(c.strings(desc.get("videos"), f"{key}.videos") or ()):
            c.url(video, f"{key}.videos[{i}]")
            if not vocab.is_oembed_url(video):
                c.error(f"{key}.videos[{i}]", f"'{video}' is not a valid video URL supporting oEmbed")
        c.strings(desc.get("awards"), f"{key}.awards")


def _legal(c: Checker, legal: dict[str, Any]) -> None:
    licence = c.required(c.string(legal.get("license"), "legal.license"), "legal.license")
    if licence and not vocab.is_spdx_expression(licence):
        c.error("legal.license", "license must be a valid license (see https://spdx.org/licenses)")
    c.string(legal.get("mainCopyrightOwner"), "legal.mainCopyrightOwner")
    if c.string(legal.get("repoOwner"), "legal.repoOwner") is not None:
        c.warn("legal.repoOwner",
               "This key is DEPRECATED and will be removed in the future. Use 'organisation.name' instead")
    if legal.get("authorsFile") is not None:
        c.warn("legal.authorsFile", DEPRECATED_DROP)
        c.file(legal["authorsFile"], "legal.authorsFile", None)


def _maintenance(c: Checker, maintenance: dict[str, Any]) -> None:
    kind = c.string(maintenance.get("type"), "maintenance.type")
    c.oneof(kind, "maintenance.type", vocab.MAINTENANCE_TYPES)
    contractors = c.structs(maintenance.get("contractors"), "maintenance.contractors", CONTRACTOR)
    contacts = c.structs(maintenance.get("contacts"), "maintenance.contacts", CONTACT)
    if kind == "contract" and maintenance.get("contractors") is None:
        c.error("maintenance.contractors", 'contractors is a required field when "type" is "contract"')
    if kind != "contract" and maintenance.get("contractors") is not None:
        c.error("maintenance.contractors", 'contractors must not be present unless "type" is "contract"')
    if kind in ("community", "internal") and maintenance.get("contacts") is None:
        c.error("maintenance.contacts", f'contacts is a required field when "type" is "{kind}"')
    for key, contractor in contractors or ():
        c.required(c.string(contractor.get("name"), f"{key}.name"), f"{key}.name")
        c.email(contractor.get("email"), f"{key}.email")
        c.url(contractor.get("website"), f"{key}.website")
        c.date(contractor.get("until"), f"{key}.until", required=True)
    for key, contact in contacts or ():
        c.required(c.string(contact.get("name"), f"{key}.name"), f"{key}.name")
        c.email(contact.get("email"), f"{key}.email")
        c.string(contact.get("affiliation"), f"{key}.affiliation")
        c.string(contact.get("phone"), f"{key}.phone")


def _italy(c: Checker, top: dict[str, Any]) -> None:
    if top.get("it") is not None:
        c.warn("it", "Lowercase country codes are DEPRECATED and will be removed in the future. Use 'IT' instead")
    if top.get("IT") is not None and top.get("it") is not None:
        c.error("it", "'IT' key already present. Remove this key")
    for name in ("IT", "it"):
        if top.get(name) is None:
            continue
        section = c.mapping(top[name], name, ITALY)
        version = c.string(section.get("countryExtensionVersion"), f"{name}.countryExtensionVersion")
        c.oneof(version, f"{name}.countryExtensionVersion", vocab.IT_EXTENSION_VERSIONS, required=False)
        if section.get("conforme") is not None:
            c.warn(f"{name}.conforme", DEPRECATED_DROP)
        conforme = c.mapping(section.get("conforme"), f"{name}.conforme", CONFORME)
        for field in CONFORME:
            c.boolean(conforme.get(field), f"{name}.conforme.{field}")
        riuso = c.mapping(section.get("riuso"), f"{name}.riuso", ("codiceIPA",))
        code = c.string(riuso.get("codiceIPA"), f"{name}.riuso.codiceIPA")
        if code and code.lower() not in vocab.ipa_codes():
            c.error(f"{name}.riuso.codiceIPA", "codiceIPA must be a valid Italian Public Administration Code (iPA)")
        elif code:
            c.warn(f"{name}.riuso.codiceIPA", "This key is DEPRECATED and will be removed in the future. Use "
                   f"'organisation.uri' and set it to 'urn:x-italian-pa:{code}' instead")
        piattaforme = c.mapping(section.get("piattaforme"), f"{name}.piattaforme", PIATTAFORME)
        for field in PIATTAFORME:
            c.boolean(piattaforme.get(field), f"{name}.piattaforme.{field}")
