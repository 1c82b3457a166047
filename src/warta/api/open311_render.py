"""Open311 answers as JSON or XML, and its errors.

GeoReport v2 gives every answer in both forms, picked by the path's extension
(``services.json``, ``services.xml``). JSON lists are bare arrays; XML wraps the same
records in a root element with one child per record, named as mySociety's open311-adapter
and the spec's examples name them (``<services><service>``, ``<service_requests>
<request>``, ``<service_request_updates><request_update>``, ``<errors><error>``), lists
inside a record the same way (``<attributes><attribute>``, ``<values><value>``). Booleans
are ``true``/``false``; a missing value is an empty element. Characters XML 1.0 cannot
hold (control characters a reporter pasted) are left out of the XML only.

Errors are Open311's: ``[{"code": 400, "description": "…"}]``, or ``<errors><error>
<code>400</code><description>…</description></error></errors>``, with the same HTTP status.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal
from xml.etree import ElementTree

from starlette.responses import Response

from warta.api.responses import JsonResponse

Format = Literal["json", "xml"]
FORMATS: Final[tuple[Format, ...]] = ("json", "xml")
XML_TYPE: Final = "text/xml; charset=utf-8"

#: The element for each record of a list, by the list's own element name.
ITEM: Final[dict[str, str]] = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
#: Not allowed in XML 1.0 at all (surrogates cannot reach here from valid UTF-8).
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def format_of(path: str) -> Format:
    """The answer's form from the path: ``….xml`` is XML, anything else JSON (errors for
    a path with no known extension come as JSON)."""
    return "xml" if path.endswith(".xml") else "json"


def answer(fmt: Format, root: str, body: Any, status_code: int = 200) -> Response:
    """``body`` (a list of records, or one record for ``discovery`` and
    ``service_definition``) as JSON, or as XML under ``root``."""
    if fmt == "json":
        return JsonResponse(body, status_code=status_code)
    return Response(to_xml(root, body), status_code=status_code, media_type=XML_TYPE)


def errors(fmt: Format, code: int, descriptions: Sequence[str]) -> Response:
    body = [{"code": code, "description": d} for d in descriptions]
    return answer(fmt, "errors", body, status_code=code)


def to_xml(root: str, body: Any) -> bytes:
    """``[{"service_code": "JLN", "metadata": False}]`` under ``services`` is
    ``<services><service><service_code>JLN</service_code><metadata>false</metadata>
    </service></services>`` (on one line, after the XML declaration)."""
    element = ElementTree.Element(root)
    _fill(element, body)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(
        element, encoding="utf-8", xml_declaration=False
    )


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _fill(ElementTree.SubElement(element, str(key)), inner)
    elif isinstance(value, list | tuple):
        child = ITEM.get(element.tag, "item")
        for inner in value:
            _fill(ElementTree.SubElement(element, child), inner)
    elif value is None:
        return
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = _NOT_XML.sub("", str(value))
