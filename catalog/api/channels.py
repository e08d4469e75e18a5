"""``/channels/{handle}``: anyone reads a channel; its owner (or an admin) edits it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200

from catalog.access import Role
from catalog.api.auth import require_manager, require_role, require_user
from catalog.api.context import context
from catalog.api.errors import forbidden, not_found
from catalog.api.fields import Handle, line, paragraphs
from catalog.api.views import ApiModel, ApiView, respond
from catalog.channels import Channel, Channels


class ChannelOut(ApiModel):
    handle: str
    title: str
    description: str
    subscriber_count: int
    created_at: datetime

    @classmethod
    def of(cls, channel: Channel) -> ChannelOut:
        return cls(
            handle=channel.handle,
            title=channel.title,
            description=channel.description,
            subscriber_count=channel.subscriber_count,
            created_at=channel.created_at,
        )


ChannelTitle = Annotated[str, line(100)]
ChannelDescription = Annotated[str, paragraphs(5000)]


class ChannelPatch(ApiModel):
    """Fields left out (or null) keep their value."""

    title: ChannelTitle | None = None
    description: ChannelDescription | None = None


def channel_store(request: web.Request) -> Channels:
    return Channels(context(request).pool)


async def own_channel(request: web.Request, what: str) -> Channel:
    """The caller's channel, where ``what`` (live streams, videos) is made; creators and admins
    only, and an admin without a channel of their own is refused."""
    principal = require_role(request, Role.CREATOR, Role.ADMIN)
    channel = await channel_store(request).by_owner(principal.user_id)
    if channel is None:
        raise forbidden(f"{what} belong to a channel, and this account has none")
    return channel


async def channel_by_handle(request: web.Request, handle: str) -> Channel:
    channel = await channel_store(request).by_handle(handle)
    if channel is None:
        raise not_found("channel")
    return channel


class ChannelView(ApiView):
    async def get(self, handle: Handle, /) -> r200[ChannelOut]:
        """A channel's public page data.

        Tags: channels
        """
        return respond(ChannelOut.of(await channel_by_handle(self.request, handle)))

    async def patch(self, handle: Handle, /, changes: ChannelPatch) -> r200[ChannelOut]:
        """Change a channel's title or description: its owner or an admin.

        Tags: channels
        Security: bearer
        """
        require_user(self.request)
        channel = await channel_by_handle(self.request, handle)
        require_manager(self.request, channel.owner_id, hidden=False, what="channel")
        updated = await channel_store(self.request).update(
            channel.id, title=changes.title, description=changes.description
        )
        if updated is None:
            raise not_found("channel")
        return respond(ChannelOut.of(updated))


def add_routes(api: web.Application) -> None:
    api.router.add_view("/channels/{handle}", ChannelView)
