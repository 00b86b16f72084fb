"""Delivery: the outbox dispatcher and the channel contract transports implement."""
