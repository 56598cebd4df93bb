"""Builders for DILA's directory file (ROAE: a zip holding one JSON `{"service": [...]}`), for the annuaire tests.

`roae_service` writes one service with the fields of the real file (../shared/docs/annuaire.md); `roae_zip` packs
services (or any text, to build bad files) the way DILA publishes them.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).parent / "fixtures" / "annuaire" / "dila_refOrga_admin_Etat_fr_fixture.zip"
MEMBER = "dila_refOrga_admin_Etat_fr_20261007.json"


def roae_service(pso_id: str, nom: str, *, sigle: str = "", children: Iterable[str] = (),
                 others: Iterable[str] = (), grouping: bool = False) -> dict[str, Any]:
    """One service as the ROAE file writes it: "Service Fils" links to `children`, "Autre hiérarchie" to `others`."""
    hierarchy = [{"type_hierarchie": "Service Fils", "service": c} for c in children]
    hierarchy += [{"type_hierarchie": "Autre hiérarchie", "service": o} for o in others]
    return {
        "id": pso_id, "nom": nom, "sigle": sigle,
        "type_organisme": "" if grouping else "Administration centrale (ou Ministère)",
        "type_repertoire": "Répertoire" if grouping else "",
        "categorie": "" if grouping else "SL1",
        "url_service_public": "" if grouping else f"https://lannuaire.service-public.gouv.fr/gouvernement/{pso_id}",
        "siren": "", "siret": "", "site_internet": [], "adresse_courriel": [],
        "date_creation": "01/01/2020 00:00:00", "date_modification": "07/10/2026 09:00:00",
        "ancien_nom": [], "ancien_identifiant": [], "hierarchie": hierarchy,
    }


def roae_zip(services: list[dict[str, Any]] | None = None, *, text: str | bytes | None = None,
             member: str = MEMBER, bom: bool = False) -> bytes:
    """The zip DILA publishes, holding `{"service": services}` (or `text` as is, to build a bad file)."""
    body: str | bytes = text if text is not None else json.dumps({"service": services or []}, ensure_ascii=False,
                                                                  indent=1)
    data = body.encode("utf-8") if isinstance(body, str) else body
    if bom:
        data = b"\xef\xbb\xbf" + data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, data)
    return out.getvalue()


def fixture_services() -> list[dict[str, Any]]:
    """The services of FIXTURE (read back from the committed zip)."""
    with zipfile.ZipFile(FIXTURE) as archive:
        services: list[dict[str, Any]] = json.loads(archive.read(MEMBER).decode("utf-8-sig"))["service"]
    return services
