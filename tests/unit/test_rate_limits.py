"""The fixed-window limiter, at chosen instants."""

from rma_graphql.service.rate_limits import Limit, RateLimiter


async def test_each_window_counts_and_resets_on_its_own() -> None:
    limiter = RateLimiter("token", [Limit(3, 1), Limit(5, 60)])
    start = 1_800_000_000.0  # a whole minute

    burst = [await limiter.hit("t", start + 0.1 * i) for i in range(4)]
    next_second = [await limiter.hit("t", start + 1.0 + 0.1 * i) for i in range(3)]
    other_key = await limiter.hit("u", start + 1.5)
    next_minute = await limiter.hit("t", start + 60.0)

    assert [d.allowed for d in burst] == [True, True, True, False]
    assert (burst[3].limit, burst[3].remaining, burst[3].reset) == (3, 0, 1)
    assert burst[3].headers()["Retry-After"] == "1"
    assert [d.allowed for d in next_second] == [True, True, False]
    # The minute window is full after five: it decides, and says when it resets.
    assert (next_second[2].limit, next_second[2].reset) == (5, 59)
    assert other_key.allowed
    assert next_minute.allowed
    assert (next_minute.limit, next_minute.remaining) == (5, 4)


async def test_headers_describe_the_window_closest_to_its_limit() -> None:
    limiter = RateLimiter("token", [Limit(100, 1), Limit(1000, 60)])

    first = await limiter.hit("t", 1_800_000_000.0)

    assert first.headers() == {
        "X-RateLimit-Limit": "1000",
        "X-RateLimit-Remaining": "999",
        "X-RateLimit-Reset": "60",
    }
