"""Persisted documents: automatic persisted queries (APQ) and trusted documents.

APQ (Apollo's protocol): a client sends ``extensions.persistedQuery.sha256Hash`` without the
document. Known → it runs; unknown → ``PersistedQueryNotFound`` (the message Apollo's clients
look for), and the client sends hash and document together, which registers the document once
it has parsed and validated. A hash-only request works as a GET too, so a CDN can cache it.
The store sits behind ``DocumentStore``: ``MemoryDocumentStore`` is an in-process LRU;
``SharedDocumentStore`` keeps registrations in the gateway's store (``tablegraph.stores``), so a
document registered through one worker runs by hash on every other and after a restart, with
the LRU in front so a known hash costs no store round trip.

Trusted documents: with ``[security] trusted_documents`` naming a manifest (JSON, SHA-256 hex
→ document, built by ``tablegraph documents``), only the manifest's operations run. A request
names one by hash (``extensions.persistedQuery.sha256Hash`` or ``documentId: "sha256:…"``) or
sends its exact text; anything else is refused before it is parsed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    print_ast,
    validate,
)

from tablegraph.errors import (
    DocumentNotTrusted,
    InvalidInput,
    PersistedQueryNotFound,
    PersistedQueryNotSupported,
)
from tablegraph.settings import ConfigError
from tablegraph.stores.base import Store

log = logging.getLogger(__name__)
#: How long the shared store keeps a registration. Content-addressed, so it never goes stale;
#: the expiry only bounds what registrations pile up in Redis or the SQLite file (a client
#: whose hash expired gets ``PersistedQueryNotFound`` and registers it again).
SHARED_TTL = 7 * 24 * 3600.0


def document_hash(text: str) -> str:
    """The SHA-256 of a document's UTF-8 text, lowercase hex (what APQ clients send)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class DocumentStore(Protocol):
    async def get(self, sha256: str) -> str | None: ...

    async def put(self, sha256: str, document: str) -> None: ...


class MemoryDocumentStore:
    """Registered APQ documents in process memory, least recently used dropped first; bounded
    by the characters held (documents may be up to ``max_query_bytes`` each)."""

    def __init__(self, max_bytes: int = 16 * 1024 * 1024) -> None:
        self._documents: LRUCache[str, str] = LRUCache(
            maxsize=max(1, max_bytes), getsizeof=lambda text: len(text) + 100
        )

    async def get(self, sha256: str) -> str | None:
        return self._documents.get(sha256)

    async def put(self, sha256: str, document: str) -> None:
        with contextlib.suppress(ValueError):  # larger than the whole store: not kept
            self._documents[sha256] = document


class SharedDocumentStore:
    """Registered APQ documents in the gateway's store, shared by every worker and kept across
    restarts, with an in-process LRU (``local``) in front. A document read back from the
    store runs only if it still hashes to its key. The store failing never fails a request:
    a lookup then answers "not found" (the client sends the document again), a registration
    is only logged."""

    def __init__(
        self, store: Store, local: MemoryDocumentStore, *, ttl: float | None = SHARED_TTL
    ) -> None:
        self.store, self.local, self.ttl = store, local, ttl

    @staticmethod
    def _key(sha256: str) -> str:
        return f"apq:{sha256}"

    async def get(self, sha256: str) -> str | None:
        found = await self.local.get(sha256)
        if found is not None:
            return found
        try:
            found = await self.store.get(self._key(sha256))
        except Exception as exc:  # the store is down: behave as if the hash were unknown
            log.warning("persisted documents: store lookup failed (%s)", type(exc).__name__)
            return None
        if found is None or document_hash(found) != sha256:
            return None
        await self.local.put(sha256, found)
        return found

    async def put(self, sha256: str, document: str) -> None:
        await self.local.put(sha256, document)
        try:
            await self.store.set(self._key(sha256), document, self.ttl)
        except Exception as exc:  # kept in this process at least
            log.warning("persisted documents: store write failed (%s)", type(exc).__name__)


def load_manifest(path: str | Path) -> dict[str, str]:
    """A trusted-documents manifest; every hash must be its document's SHA-256."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"trusted documents manifest not found: {path}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"trusted documents manifest {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ConfigError(f"trusted documents manifest {path}: expected {{hash: document}}")
    for sha, document in data.items():
        if document_hash(document) != sha:
            raise ConfigError(f"trusted documents manifest {path}: {sha} is not its hash")
    return dict(data)


@dataclass(frozen=True)
class Resolved:
    """The document a request runs, and the APQ hash to register once it has validated."""

    query: Any
    register: str | None = None


@dataclass
class PersistedDocuments:
    store: DocumentStore | None  # None: APQ off
    manifest: Mapping[str, str] | None  # not None: trusted-documents mode

    async def resolve(self, params: Mapping[str, Any]) -> Resolved:
        """The document text of this request (``query`` unchanged when it names no hash)."""
        query = params.get("query")
        sha = _requested_hash(params)
        if self.manifest is not None:
            if sha is None and isinstance(query, str):
                sha = document_hash(query)
            trusted = self.manifest.get(sha) if sha is not None else None
            if trusted is None or (isinstance(query, str) and query != trusted):
                raise DocumentNotTrusted(
                    "only trusted documents run here, and this one is not in the manifest"
                )
            return Resolved(trusted)
        if sha is None:
            return Resolved(query)
        if self.store is None:
            raise PersistedQueryNotSupported("PersistedQueryNotSupported")
        if isinstance(query, str):
            if document_hash(query) != sha:
                raise _bad_request("provided sha does not match query")
            return Resolved(query, register=sha)
        found = await self.store.get(sha)
        if found is None:
            raise PersistedQueryNotFound("PersistedQueryNotFound")
        return Resolved(found)

    async def register(self, resolved: Resolved) -> None:
        if resolved.register is not None and self.store is not None:
            await self.store.put(resolved.register, resolved.query)


def _requested_hash(params: Mapping[str, Any]) -> str | None:
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise _bad_request("'extensions' must be a JSON object")
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is not None:
        if not isinstance(persisted, dict) or persisted.get("version", 1) != 1:
            raise _bad_request("extensions.persistedQuery must be {version: 1, sha256Hash}")
        sha = persisted.get("sha256Hash")
        if not isinstance(sha, str) or not _is_sha256(sha.lower()):
            raise _bad_request("extensions.persistedQuery.sha256Hash must be a SHA-256 in hex")
        return sha.lower()
    document_id = params.get("documentId")
    if document_id is None:
        return None
    if not isinstance(document_id, str) or not _is_sha256(document_id.removeprefix("sha256:")):
        raise _bad_request("documentId must be 'sha256:' and a SHA-256 in hex")
    return document_id.removeprefix("sha256:").lower()


def _bad_request(message: str) -> InvalidInput:
    """A malformed request (answered 400 whatever the media type)."""
    return InvalidInput(message, code="BAD_REQUEST")


def _is_sha256(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text.lower())


def build_manifest(paths: list[Path]) -> dict[str, str]:
    """A trusted-documents manifest from ``.graphql`` files (or directories of them): one
    document per operation — the operation and the fragments it uses, printed canonically —
    under its SHA-256. Every document must validate against the schema."""
    from tablegraph.graphql.schema import build_schema  # late: the schema imports resolvers

    files: list[Path] = []
    for path in paths:
        files += sorted(path.rglob("*.graphql")) if path.is_dir() else [path]
    fragments: dict[str, FragmentDefinitionNode] = {}
    operations: list[tuple[Path, OperationDefinitionNode]] = []
    for file in files:
        try:
            document = parse(file.read_text(encoding="utf-8"))
        except (OSError, GraphQLSyntaxError) as exc:
            raise ConfigError(f"{file}: {exc}") from None
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                if definition.name.value in fragments:
                    raise ConfigError(f"{file}: fragment {definition.name.value} defined twice")
                fragments[definition.name.value] = definition
            elif isinstance(definition, OperationDefinitionNode):
                operations.append((file, definition))
    schema = build_schema()._schema
    manifest: dict[str, str] = {}
    for file, operation in operations:
        used = _fragments_used(operation, fragments)
        document = DocumentNode(definitions=(operation, *(fragments[n] for n in used)))
        errors = validate(schema, document)
        if errors:
            name = operation.name.value if operation.name else "(anonymous)"
            raise ConfigError(f"{file}: operation {name}: {errors[0].message}")
        text = print_ast(document)
        manifest[document_hash(text)] = text
    return manifest


def _fragments_used(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[str]:
    """Names of the fragments ``operation`` spreads, transitively, in order of first use."""
    used: list[str] = []
    pending: list[SelectionSetNode] = [operation.selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in used and name in fragments:
                    used.append(name)
                    pending.append(fragments[name].selection_set)
            elif (
                isinstance(selection, FieldNode | InlineFragmentNode)
                and selection.selection_set is not None
            ):
                pending.append(selection.selection_set)
    return used
