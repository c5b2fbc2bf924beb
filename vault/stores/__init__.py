"""Write-once, content-addressed object stores (one Protocol, several backends)."""

from vault.stores.protocol import DestructionOrder, ObjectStore, StoredObject

__all__ = ["DestructionOrder", "ObjectStore", "StoredObject"]
