"""Small lxml conveniences shared by the XML renderers: child elements with safe text."""

from __future__ import annotations

from lxml import etree

from service.outputs.syndication.safe import xml_text


def child(
    parent: etree._Element, tag: str, value: str | None = None, /, **attrib: str
) -> etree._Element:
    """Append ``<tag attrib…>value</tag>`` to ``parent`` (value and attributes made XML-legal)."""
    element = etree.SubElement(parent, tag, {k: xml_text(v) for k, v in attrib.items()})
    if value is not None:
        element.text = xml_text(value)
    return element


def serialize(root: etree._Element) -> bytes:
    """UTF-8 bytes with an XML declaration."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
