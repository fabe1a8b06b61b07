"""A synthetic, realistic mix of container log lines for the processor and indexer benchmarks.

40% lines in the prescribed format, 15% other JSON, 25% nginx access lines, 20% plain text, a
quarter of which are joined Java stack traces (as the shipper delivers them). Deterministic for a
seed, so runs compare the very same lines.
"""

from __future__ import annotations

import random

from logfleet.core.model import format_ts

BASE_NS = 1_790_000_000_000_000_000
JAVA_TRACE = "\n".join(
    [
        "2026-01-01 12:00:00,123 ERROR [worker-3] c.e.shop.CheckoutService - payment failed",
        "java.lang.IllegalStateException: card declined",
        "\tat com.example.shop.PaymentClient.charge(PaymentClient.java:88)",
        "\tat com.example.shop.CheckoutService.checkout(CheckoutService.java:41)",
        "\tat com.example.shop.Api.handle(Api.java:17)",
        "Caused by: java.net.SocketTimeoutException: Read timed out",
        "\tat java.base/java.net.SocketInputStream.socketRead0(Native Method)",
        "\t... 3 more",
    ]
)


def lines(count: int, seed: int = 7) -> list[str]:
    """``count`` log lines of the mix."""
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(count):
        roll = rng.random()
        ts = format_ts(BASE_NS + i * 1_000_000)
        if roll < 0.40:
            level = rng.choice(["info", "info", "info", "warn", "error", "debug"])
            out.append(
                f'{{"@timestamp":"{ts}","log.level":"{level}","message":"order {i} processed in '
                f'{rng.randrange(900)} ms","service.name":"shop-api","trace.id":"{rng.getrandbits(64):016x}",'
                f'"labels":{{"tenant":"t{rng.randrange(20)}"}}}}'
            )
        elif roll < 0.55:
            out.append(
                f'{{"time":"{ts}","level":"{rng.choice(["INFO", "WARN"])}","msg":"cache miss","key":"user:{i}",'
                f'"took_ms":{rng.randrange(50)}}}'
            )
        elif roll < 0.80:
            out.append(
                f'10.0.{rng.randrange(255)}.{rng.randrange(255)} - - [01/Jan/2026:12:00:00 +0000] '
                f'"GET /item/{i} HTTP/1.1" {rng.choice([200, 200, 200, 304, 404, 500])} {rng.randrange(9000)} '
                f'"https://shop.example/" "Mozilla/5.0 (X11; Linux x86_64)"'
            )
        elif roll < 0.95:
            out.append(f"2026-01-01 12:00:00,{i % 1000:03d} INFO [worker-{i % 8}] c.e.shop.Stock - reserved {i}")
        else:
            out.append(JAVA_TRACE)
    return out
