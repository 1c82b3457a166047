"""The unmodified `georeport` client (PyPI) reads a real `warta serve`'s Open311 endpoint,
in JSON and in XML, after a report was filed the way FixMyStreet files one; everything it
reads validates against the open311 schema-validation project's JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from georeport import GeoReport

from tests.e2e.conftest import Server
from tests.integration.test_open311 import ATTRIBUTES, valid


def test_georeport_reads_services_and_requests(server: Server, tmp_path: Path) -> None:
    agency = server.cli("agency", "create", "Dinas PU Kota Uji")
    attributes = tmp_path / "attributes.json"
    attributes.write_text(json.dumps(ATTRIBUTES), encoding="utf-8")
    server.cli(
        "service",
        "create",
        "--agency",
        agency["id"],
        "--code",
        "JALAN-RUSAK",
        "--name",
        "Jalan rusak",
        "--group",
        "Jalan dan jembatan",
        "--keywords",
        "jalan,lubang",
        "--attributes-file",
        str(attributes),
    )
    server.cli(
        "service",
        "create",
        "--agency",
        agency["id"],
        "--code",
        "KTP-EL",
        "--name",
        "KTP-el",
        "--kind",
        "permohonan",
    )
    api_key = server.cli("open311", "key", "create", "--name", "FixMyStreet Uji")["api_key"]
    root = f"{server.url}/open311/v2"

    filed = httpx.post(
        f"{root}/requests.json",
        data={
            "api_key": api_key,
            "service_code": "JALAN-RUSAK",
            "lat": "-6.200000",
            "long": "106.816666",
            "address_string": "Jl. M.H. Thamrin, Jakarta Pusat",
            "description": "Lubang di lajur kiri, dalam sekitar 15 cm.",
            "attribute[kedalaman]": "15",
            "attribute[lajur]": "kiri",
            "email": "warga.pelapor@contoh-warga.id",
            "first_name": "Budi",
        },
        timeout=10,
    )
    assert filed.status_code == 200, filed.text
    tracking = filed.json()[0]["service_request_id"]

    for output in ("json", "xml"):
        client = GeoReport(root, output_format=output)
        services: list[dict[str, Any]] = client.get_service_list()
        by_code = {s["service_code"]: s for s in services}
        assert by_code["JALAN-RUSAK"]["service_name"] == "Jalan rusak"
        assert by_code["KTP-EL"]["service_name"] == "KTP-el"
        definition = client.get_service_definition("JALAN-RUSAK")
        requests = client.get_service_requests(status="open")
        one = client.get_service_request(tracking)
        if output == "json":
            valid("services.json", services)
            valid("service-definition.json", definition)
            valid("requests.json", requests)
            valid("request.json", one)
            assert [a["code"] for a in definition["attributes"]] == ["kedalaman", "lajur"]
            assert [r["service_request_id"] for r in requests] == [tracking]
            assert (one["lat"], one["long"]) == (-6.2, 106.816666)
        else:  # xmltodict's reading: text throughout, one record is not a list
            assert by_code["JALAN-RUSAK"]["metadata"] == "true"
            codes = [a["code"] for a in definition["attributes"]["attribute"]]
            assert codes == ["kedalaman", "lajur"]
            assert requests["service_request_id"] == tracking
            assert (one["lat"], one["long"]) == ("-6.2", "106.816666")
        assert one["service_request_id"] == tracking
        assert one["status"] == "open"
        assert one["description"] == "Lubang di lajur kiri, dalam sekitar 15 cm."
        assert one["address"] == "Jl. M.H. Thamrin, Jakarta Pusat"
        assert "Budi" not in json.dumps(one)

    assert not server.log().count("Traceback")
