"""The Telegram channel's own throttles out of the way, for tests where the fake Bot API's
limits (or none) are what is being tested, not the channel's pacing."""

from __future__ import annotations

from bot.telegram.channel import SendLimits

UNTHROTTLED_TELEGRAM = SendLimits(
    overall_per_second=10_000,
    overall_burst=1_000,
    private_per_second=1_000,
    group_per_minute=600_000,
    group_burst=1_000,
)
