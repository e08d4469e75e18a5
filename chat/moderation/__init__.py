"""Chat moderation: room rules, sanctions and moderators, send limits, word filters, floods.

Everything a moderator sets lives in Redis under ``tributary:chat:``, so every chat node
enforces the same bans, time-outs and rules; only the per-connection flood budget is local,
because a connection lives on one node.
"""
