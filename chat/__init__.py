"""Live chat and real-time comments over Socket.IO.

The public face: :class:`ChatServer` (mounted on any aiohttp application), :class:`ChatNode`
(``tributary serve chat``) and :class:`CommentAnnouncer` (the API's comment feed).
"""

from chat.comment_feed import CommentAnnouncer
from chat.node import ChatNode
from chat.server import PATH, ChatServer

__all__ = ["PATH", "ChatNode", "ChatServer", "CommentAnnouncer"]
