"""Reading Libro's JSON:API documents: primary resources, relationships, side-loads, totals."""

from __future__ import annotations

from tablegraph.providers.libro.payloads import Document, Resource


def resources(doc: Document) -> list[Resource]:
    data = doc.get("data")
    if data is None:
        return []
    return data if isinstance(data, list) else [data]


def related_id(resource: Resource, name: str) -> str | None:
    """The id a to-one relationship points at (``relationships.<name>.data.id``)."""
    rel = (resource.get("relationships") or {}).get(name) or {}
    data = rel.get("data")
    if isinstance(data, dict) and data.get("id") is not None:
        return str(data["id"])
    return None


def page_total(doc: Document) -> int | None:
    """``meta.page.total`` when Libro sends it (the people list does)."""
    total = ((doc.get("meta") or {}).get("page") or {}).get("total")
    return total if isinstance(total, int) else None


class Included:
    """Side-loaded resources of a document, by (type, id); ``person``/``people`` are one type."""

    def __init__(self, docs: list[Document] | None = None) -> None:
        self._by_key: dict[tuple[str, str], Resource] = {}
        for doc in docs or []:
            self.add(doc.get("included") or [])

    def add(self, items: list[Resource]) -> None:
        for item in items:
            if "id" in item and "type" in item:
                self._by_key[(_type(item["type"]), str(item["id"]))] = item

    def get(self, type_: str, ident: str | None) -> Resource | None:
        if ident is None:
            return None
        return self._by_key.get((_type(type_), ident))


def _type(name: str) -> str:
    return {"people": "person"}.get(name, name)
