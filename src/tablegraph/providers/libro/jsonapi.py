"""Libro's raw JSON:API shapes (private to the adapter) and a small document reader."""

from __future__ import annotations

from typing import Any, TypedDict


class _Ref(TypedDict):
    id: str
    type: str


class _Relationship(TypedDict, total=False):
    data: _Ref | list[_Ref] | None


class Resource(TypedDict, total=False):
    id: str
    type: str
    attributes: dict[str, Any]
    relationships: dict[str, _Relationship]


class Document(TypedDict, total=False):
    data: Resource | list[Resource]
    included: list[Resource]
    meta: dict[str, Any]


class TokenResponse(TypedDict, total=False):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class ErrorBody(TypedDict, total=False):
    error: str
    code: str
    message: str


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
