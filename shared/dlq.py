"""List, inspect and replay dead letters: `python -m shared.dlq list|show|replay QUEUE`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime

import pika

from shared.topology import dlq_name


def _connect(amqp_url: str):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.confirm_delivery()
    return connection, channel


def _drain(channel, queue: str, limit: int):
    """Take up to `limit` messages without acking; closing the channel puts them back."""
    taken: list[tuple] = []
    while len(taken) < limit:
        method, properties, body = channel.basic_get(queue, auto_ack=False)
        if method is None:
            break
        taken.append((method, properties, body))
    return taken


def _describe(properties, body: bytes) -> dict:
    headers = properties.headers or {}
    try:
        envelope = json.loads(body)
        event_type, subject = envelope.get("type"), envelope.get("subject")
    except (ValueError, AttributeError):
        event_type, subject = None, None
    return {
        "message_id": properties.message_id,
        "type": event_type,
        "subject": subject,
        "error": headers.get("x-error"),
        "failed_at": headers.get("x-failed-at"),
        "retries": headers.get("x-retry-count", 0),
    }


def list_dead_letters(amqp_url: str, queue: str, limit: int = 1000) -> list[dict]:
    connection, channel = _connect(amqp_url)
    try:
        return [_describe(p, b) for _, p, b in _drain(channel, dlq_name(queue), limit)]
    finally:
        connection.close()


def show_dead_letter(amqp_url: str, queue: str, message_id: str) -> dict | None:
    connection, channel = _connect(amqp_url)
    try:
        for _, properties, body in _drain(channel, dlq_name(queue), 100_000):
            if properties.message_id == message_id:
                return {
                    **_describe(properties, body),
                    "headers": properties.headers or {},
                    "body": body.decode(errors="replace"),
                }
        return None
    finally:
        connection.close()


def replay(amqp_url: str, queue: str, message_ids: set[str] | None = None) -> int:
    """Send dead letters back to their consumer's queue, same message id; returns how many."""
    connection, channel = _connect(amqp_url)
    replayed = 0
    try:
        for method, properties, body in _drain(channel, dlq_name(queue), 100_000):
            if message_ids is not None and properties.message_id not in message_ids:
                continue
            headers = {
                k: v
                for k, v in (properties.headers or {}).items()
                if k
                not in {
                    "x-error",
                    "x-failed-at",
                    "x-retry-count",
                    "x-last-error",
                    "x-death",
                    "x-first-death-exchange",
                    "x-first-death-queue",
                    "x-first-death-reason",
                    "x-last-death-exchange",
                    "x-last-death-queue",
                    "x-last-death-reason",
                }
            }
            headers["x-replayed-at"] = datetime.now(UTC).isoformat()
            channel.basic_publish(
                exchange="",
                routing_key=queue,
                body=body,
                mandatory=True,
                properties=pika.BasicProperties(
                    content_type=properties.content_type,
                    message_id=properties.message_id,
                    correlation_id=properties.correlation_id,
                    type=properties.type,
                    delivery_mode=pika.DeliveryMode.Persistent,
                    headers=headers,
                ),
            )
            channel.basic_ack(method.delivery_tag)  # after the broker confirmed the copy
            replayed += 1
    finally:
        connection.close()  # un-acked (not chosen) letters return to the dead-letter queue
    return replayed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.dlq", description=__doc__)
    parser.add_argument(
        "--amqp-url", default=os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list dead letters").add_argument("queue")
    show = sub.add_parser("show", help="one dead letter with headers and body")
    show.add_argument("queue")
    show.add_argument("message_id")
    again = sub.add_parser("replay", help="re-deliver dead letters to the consumer queue")
    again.add_argument("queue")
    again.add_argument("message_ids", nargs="*", help="only these (default: all)")
    args = parser.parse_args(argv)
    if args.command == "list":
        print(json.dumps(list_dead_letters(args.amqp_url, args.queue), indent=2, default=str))
    elif args.command == "show":
        letter = show_dead_letter(args.amqp_url, args.queue, args.message_id)
        if letter is None:
            print(f"no dead letter {args.message_id} in {dlq_name(args.queue)}", file=sys.stderr)
            return 1
        print(json.dumps(letter, indent=2, default=str))
    else:
        count = replay(args.amqp_url, args.queue, set(args.message_ids) or None)
        print(f"replayed {count} message(s) to {args.queue}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
