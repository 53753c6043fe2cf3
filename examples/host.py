"""A small host application: sends a customer, a project and an invoice to the connector's queues and prints
their outcomes (docs/host-integration.md). `make run` ends its demo with it.

    python examples/host.py [--connector demo] [--large]

Storage: the app setting `AzureWebJobsStorage` (a connection string; `UseDevelopmentStorage=true` is Azurite),
or `--account NAME` to sign in with DefaultAzureCredential (the identity needs "Storage Queue Data
Contributor", and "Storage Blob Data Contributor" on container bc-payloads for --large).

--large also sends an invoice of 1,000 lines, too large for a queue message (64 KiB), by claim check: the
`data` object goes to a blob of container `bc-payloads` and the message carries `dataRef: {blob, sha256}`.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import sys
import time
import uuid

from azure.storage.queue import QueueClient


def queue(name: str, args: argparse.Namespace) -> QueueClient:
    if args.account:
        from azure.identity import DefaultAzureCredential

        return QueueClient(f"https://{args.account}.queue.core.windows.net", name, credential=DefaultAzureCredential())
    return QueueClient.from_connection_string(args.connection_string, name)


def send(args: argparse.Namespace, kind: str, data: dict | None = None, data_ref: dict | None = None) -> None:
    """One message: plain UTF-8 JSON text (the app also accepts base64 of it)."""
    message = {"connector": args.connector, "type": kind, "version": args.version}
    message.update({"data": data} if data is not None else {"dataRef": data_ref})
    queue(f"bc-{kind}s", args).send_message(json.dumps(message, ensure_ascii=False))
    print(f"sent {kind} {data['id'] if data else data_ref['id']} to bc-{kind}s")


def upload(args: argparse.Namespace, blob: str, data: dict) -> str:
    """The claim check: the data object as a blob of bc-payloads; its SHA-256."""
    from azure.storage.blob import BlobClient

    content = json.dumps(data, ensure_ascii=False).encode("utf-8")
    if args.account:
        from azure.identity import DefaultAzureCredential

        client = BlobClient(f"https://{args.account}.blob.core.windows.net", "bc-payloads", blob,
                            credential=DefaultAzureCredential())
    else:
        client = BlobClient.from_connection_string(args.connection_string, "bc-payloads", blob)
    client.upload_blob(content, overwrite=True)
    return hashlib.sha256(content).hexdigest()


def wait_for_outcomes(args: argparse.Namespace, expected: set[tuple[str, str]], timeout: float) -> int:
    """Read bc-outcomes until every (type, id) in `expected` has its outcome; delete what was handled."""
    outcomes = queue("bc-outcomes", args)
    deadline = time.monotonic() + timeout
    failed = 0
    while expected and time.monotonic() < deadline:
        got_any = False
        for item in outcomes.receive_messages(max_messages=32, visibility_timeout=30):
            got_any = True
            outcome = json.loads(item.content)
            key = (outcome.get("type"), outcome.get("id"))
            if outcome.get("connector") != args.connector or key not in expected:
                outcomes.update_message(item, visibility_timeout=0)  # someone else's: leave it
                continue
            expected.discard(key)
            error = outcome.get("error") or {}
            bc = outcome.get("bc") or {}
            print(f"outcome {key[0]} {key[1]}: {outcome['status']}"
                  + (f", BC number {bc.get('number')}" if bc.get("number") else "")
                  + (f", {error.get('code')} on {error.get('field')}: {error.get('message')}" if error else "")
                  + (f" (warnings: {'; '.join(outcome['warnings'])})" if outcome.get("warnings") else ""))
            failed += outcome["status"] == "failed"
            outcomes.delete_message(item)  # processed: delete it, or it comes back after the visibility timeout
        if not got_any:
            time.sleep(1)
    for kind, host_id in sorted(expected):
        print(f"no outcome for {kind} {host_id} within {timeout:.0f} s (is the app running?)")
    return failed + len(expected)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connector", default="demo")
    parser.add_argument("--connection-string", default=os.environ.get("AzureWebJobsStorage", "UseDevelopmentStorage=true"))
    parser.add_argument("--account", help="storage account name: sign in with DefaultAzureCredential instead")
    parser.add_argument("--large", action="store_true", help="also send a 1,000-line invoice by claim check")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args(argv)
    args.version = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    run = uuid.uuid4().hex[:6].upper()
    customer = {"id": f"CUST-{run}", "name": "Northwind Traders", "type": "Company", "email": "ap@northwind.example",
                "invoiceAddress": {"line1": "1 Main Street", "city": "Atlanta", "state": "GA", "postalCode": "30301",
                                   "countryCode": "US"}}
    project = {"id": f"PRJ-{run}", "number": f"P-{run}", "name": "Website relaunch", "customerId": customer["id"]}
    invoice = {"id": f"INV-{run}", "invoiceDate": _dt.date.today().isoformat(), "customer": customer,
               "project": {"id": project["id"], "number": project["number"]},
               "lines": [{"description": "Consulting", "quantity": 8, "unitPrice": 150},
                         {"description": "Travel", "quantity": 1, "unitPrice": 240}]}
    send(args, "customer", customer)
    send(args, "project", project)
    send(args, "invoice", invoice)
    expected = {("customer", customer["id"]), ("project", project["id"]), ("invoice", invoice["id"])}
    if args.large:
        big = dict(invoice, id=f"INV-{run}-L", lines=[{"description": f"Consulting day {n}", "quantity": 1,
                                                       "unitPrice": 100} for n in range(1000)])
        blob = f"{args.connector}/invoice/{big['id']}/{args.version}.json"
        send(args, "invoice", data_ref={"blob": blob, "sha256": upload(args, blob, big), "id": big["id"]})
        expected.add(("invoice", big["id"]))
    return 1 if wait_for_outcomes(args, expected, args.timeout) else 0


if __name__ == "__main__":
    sys.exit(main())
