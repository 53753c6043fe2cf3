"""The envelope every input message shares (docs/contract.md §4): connector, type, version, and `data` or,
for an entity larger than a queue message, `dataRef` (a claim check: a blob in container `bc-payloads`
holding the `data` object, with its SHA-256)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Mapping

from shared.jsontypes import JsonValue

from ._errors import MessageInvalid, unforeseen
from ._fields import json_type
from ._version import Version

__all__ = ["DataRef", "Envelope", "parse_envelope", "peek_identity", "QUEUE_TYPES", "MAX_MESSAGE_CHARS",
           "PAYLOAD_CONTAINER", "MAX_PAYLOAD_BYTES"]

#: Which entity type each input queue carries (Contract queue names).
QUEUE_TYPES = {"bc-customers": "customer", "bc-projects": "project", "bc-products": "product",
               "bc-invoices": "invoice"}

#: Azure Storage queue messages hold at most 64 KiB; anything longer is not a message we were sent.
MAX_MESSAGE_CHARS = 64 * 1024

#: The blob container a `dataRef` names a blob of (same storage account as the queues).
PAYLOAD_CONTAINER = "bc-payloads"

#: The largest `dataRef` blob read: 1,000 invoice lines with 2,000-character descriptions fit in about 2.5 MB.
MAX_PAYLOAD_BYTES = 8 * 1024 * 1024

_CONNECTOR = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")  # matched whole (fullmatch)
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")  # matched whole (fullmatch)
_MAX_BLOB_NAME = 1024  # Azure Blob Storage: a blob name is 1 to 1,024 characters


@dataclass(frozen=True)
class DataRef:
    """A claim check: blob `blob` of container `bc-payloads` holds the `data` object; `sha256` (lower-case hex)
    is the SHA-256 of the blob's bytes; `id` the host id, when the host sent it (for the outcome of a blob
    that cannot be read)."""

    blob: str
    sha256: str
    id: str | None = None


@dataclass(frozen=True)
class Envelope:
    """`data` is the entity, or None when `data_ref` names the blob that holds it."""

    connector: str
    type: str
    version: Version
    data: Mapping[str, JsonValue] | None
    data_ref: DataRef | None = None


def _load(text: object) -> JsonValue:
    if not isinstance(text, str):
        raise MessageInvalid("(message)", "is not text")
    if len(text) > MAX_MESSAGE_CHARS:
        raise MessageInvalid("(message)", f"is {len(text)} characters long; queue messages hold at most "
                                          f"{MAX_MESSAGE_CHARS}")
    if not text.strip():
        raise MessageInvalid("(message)", "is empty; send a JSON object")
    try:
        document: JsonValue = json.loads(text)
        # `"\ud800"` is valid JSON but no text: it could be neither stored nor sent on in an outcome.
        json.dumps(document, ensure_ascii=False).encode("utf-8")
        return document
    except UnicodeEncodeError:
        raise MessageInvalid("(message)", "holds an unpaired UTF-16 surrogate escape (such as \\ud800), "
                                          "which is not a character") from None
    except RecursionError:
        raise MessageInvalid("(message)", "is nested too deeply to be read") from None
    except ValueError as err:
        raise MessageInvalid("(message)", f"is not valid JSON ({getattr(err, 'msg', str(err))} at "
                                          f"position {getattr(err, 'pos', '?')})") from None


def parse_envelope(text: object, *, queue_type: str) -> Envelope:
    """Parse and check the envelope of a message taken from the queue of `queue_type`.

    Raises MessageInvalid naming the first bad field (`connector`, `type`, `version`, `data`), and nothing
    else: a failure this parser did not foresee is a MessageInvalid of `(message)` too (and logged).
    """
    with unforeseen("(message)"):
        return _parse_envelope(text, queue_type)


def _parse_envelope(text: object, queue_type: str) -> Envelope:
    document = _load(text)
    if not isinstance(document, Mapping):
        raise MessageInvalid("(message)", f"must be a JSON object, not {json_type(document)}")
    connector = document.get("connector")
    if connector is None:
        raise MessageInvalid("connector", "is required")
    if not isinstance(connector, str) or not _CONNECTOR.fullmatch(connector):
        raise MessageInvalid("connector", "must be a connector name: 3 to 63 lower-case letters, digits and "
                                          "hyphens, starting and ending with a letter or digit")
    kind = document.get("type")
    if kind is None:
        raise MessageInvalid("type", "is required")
    if kind != queue_type:
        shown = f"'{kind[:30]}'" if isinstance(kind, str) else json_type(kind)
        raise MessageInvalid("type", f"is {shown}, but this queue carries '{queue_type}' messages; send it "
                                     f"to the queue of its type")
    if "version" not in document:
        raise MessageInvalid("version", "is required (the host's modification stamp of the entity)")
    try:
        version = Version.parse(document["version"])
    except ValueError as err:
        raise MessageInvalid("version", str(err)) from None
    data = document.get("data")
    if "dataRef" in document:
        if data is not None:
            raise MessageInvalid("dataRef", "cannot be sent together with data; send one of them")
        return Envelope(connector, kind, version, None, _data_ref(document["dataRef"]))
    if data is None:
        raise MessageInvalid("data", "is required (or dataRef, naming a blob in container bc-payloads)")
    if not isinstance(data, Mapping):
        raise MessageInvalid("data", f"must be an object, not {json_type(data)}")
    return Envelope(connector, kind, version, data)


def _data_ref(value: JsonValue) -> DataRef:
    if not isinstance(value, Mapping):
        raise MessageInvalid("dataRef", f"must be an object {{blob, sha256}}, not {json_type(value)}")
    unknown = sorted(set(value) - {"blob", "sha256", "id"})
    if unknown:
        raise MessageInvalid(f"dataRef.{unknown[0][:40]}", "is not a field of dataRef (blob, sha256, id)")
    blob = value.get("blob")
    if not isinstance(blob, str) or not blob.strip():
        raise MessageInvalid("dataRef.blob", "is required: the name of a blob in container bc-payloads")
    if len(blob) > _MAX_BLOB_NAME or any(ord(ch) < 0x20 or ch == "\x7f" for ch in blob):
        raise MessageInvalid("dataRef.blob", f"must be a blob name: 1 to {_MAX_BLOB_NAME} characters, no control "
                                             "characters")
    digest = value.get("sha256")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise MessageInvalid("dataRef.sha256", "must be the SHA-256 of the blob's bytes as 64 hexadecimal digits")
    raw_id = value.get("id")
    host_id: str | None = None
    if raw_id is not None:
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or not str(raw_id).strip():
            raise MessageInvalid("dataRef.id", "must be the host id (a string or an integer) of the entity")
        host_id = str(raw_id).strip()
    return DataRef(blob=blob, sha256=digest.lower(), id=host_id)


def peek_identity(text: object) -> tuple[str | None, str | None, str | int | None]:
    """Best effort, never raises: (connector, host id, version as sent) of a message that may be broken.

    Used to address the outcome and the ledger row of a message that failed to parse.
    """
    try:
        document = json.loads(text) if isinstance(text, str) and len(text) <= MAX_MESSAGE_CHARS else None
    except (ValueError, RecursionError):
        return None, None, None
    if not isinstance(document, Mapping):
        return None, None, None
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return None, None, None  # holds a lone surrogate: nothing of it can be echoed
    raw_connector = document.get("connector")
    connector = raw_connector if isinstance(raw_connector, str) and _CONNECTOR.fullmatch(raw_connector) else None
    data = document.get("data")
    ref = document.get("dataRef")
    raw_id = data.get("id") if isinstance(data, Mapping) else ref.get("id") if isinstance(ref, Mapping) else None
    host_id: str | None = None
    if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool):
        host_id = str(raw_id).strip()[:200] or None
        if host_id and any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in host_id):
            host_id = None
    raw_version = document.get("version")
    version: str | int | None = None
    if isinstance(raw_version, (str, int)) and not isinstance(raw_version, bool):
        version = raw_version[:64] if isinstance(raw_version, str) else raw_version
    return connector, host_id, version
