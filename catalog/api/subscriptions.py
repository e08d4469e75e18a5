"""Subscriptions: ``/channels/{handle}/subscription``, ``/me/subscriptions`` and ``/me/feed``.

Subscribing is ``PUT``, unsubscribing ``DELETE``; both are idempotent and answer the state and
the channel's subscriber count. The feed lists the newest public, ready videos of the caller's
subscriptions (never unlisted or private ones), keyset paged.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200

from catalog.api.auth import require_user
from catalog.api.channels import ChannelOut, channel_store
from catalog.api.context import context
from catalog.api.errors import conflict, not_found
from catalog.api.fields import Handle, Id
from catalog.api.pagination import Cursor, Page, PageQuery
from catalog.api.video_cards import VideoCardOut
from catalog.api.views import ApiModel, ApiView, respond
from catalog.channels import Channel
from catalog.subscriptions import OwnChannel, Subscriptions


class SubscriptionStateOut(ApiModel):
    subscribed: bool
    subscriber_count: int


class SubscriptionOut(ApiModel):
    channel: ChannelOut
    subscribed_at: datetime


class SubscriptionPage(Page[SubscriptionOut]):
    pass


class FeedPage(Page[VideoCardOut]):
    pass


_BY_TIME: Cursor[tuple[datetime, int]] = Cursor(tuple[datetime, Id])


def _subscriptions(request: web.Request) -> Subscriptions:
    return Subscriptions(context(request).pool)


async def _channel(request: web.Request, handle: str) -> Channel:
    channel = await channel_store(request).by_handle(handle)
    if channel is None:
        raise not_found("channel")
    return channel


class SubscriptionView(ApiView):
    async def get(self, handle: Handle, /) -> r200[SubscriptionStateOut]:
        """Whether the caller is subscribed to the channel.

        Tags: subscriptions
        Security: bearer
        """
        principal = require_user(self.request)
        channel = await _channel(self.request, handle)
        subscribed = await _subscriptions(self.request).is_subscribed(principal.user_id, channel.id)
        return respond(SubscriptionStateOut(subscribed=subscribed, subscriber_count=channel.subscriber_count))

    async def put(self, handle: Handle, /) -> r200[SubscriptionStateOut]:
        """Subscribe to the channel (again: no change).

        Tags: subscriptions
        Security: bearer
        """
        return await self._set(handle, subscribed=True)

    async def delete(self, handle: Handle, /) -> r200[SubscriptionStateOut]:
        """Unsubscribe from the channel (when not subscribed: no change).

        Tags: subscriptions
        Security: bearer
        """
        return await self._set(handle, subscribed=False)

    async def _set(self, handle: str, *, subscribed: bool) -> web.Response:
        principal = require_user(self.request)
        channel = await _channel(self.request, handle)
        try:
            count = await _subscriptions(self.request).set_subscribed(
                principal.user_id, channel, subscribed
            )
        except OwnChannel as exc:
            raise conflict("own_channel", str(exc)) from None
        if count is None:
            raise not_found("channel")
        return respond(SubscriptionStateOut(subscribed=subscribed, subscriber_count=count))


class MySubscriptionsView(ApiView):
    async def get(self, page: PageQuery) -> r200[SubscriptionPage]:
        """The channels the caller subscribes to, most recent first.

        Tags: subscriptions
        Security: bearer
        """
        principal = require_user(self.request)
        rows = await _subscriptions(self.request).of_user(
            principal.user_id, after=_BY_TIME.decode(page.cursor), limit=page.limit + 1
        )
        items, next_cursor = _BY_TIME.page(
            rows, page.limit, key=lambda s: (s.subscribed_at, s.channel.id)
        )
        out = [
            SubscriptionOut(channel=ChannelOut.of(s.channel), subscribed_at=s.subscribed_at)
            for s in items
        ]
        return respond(SubscriptionPage(items=out, next_cursor=next_cursor))


class FeedView(ApiView):
    async def get(self, page: PageQuery) -> r200[FeedPage]:
        """New public videos from the caller's subscriptions, newest first.

        Tags: subscriptions
        Security: bearer
        """
        principal = require_user(self.request)
        rows = await _subscriptions(self.request).feed(
            principal.user_id, after=_BY_TIME.decode(page.cursor), limit=page.limit + 1
        )
        items, next_cursor = _BY_TIME.page(
            rows, page.limit, key=lambda listed: (listed.listed_at, listed.video.id)
        )
        out = [VideoCardOut.of(listed.video) for listed in items]
        return respond(FeedPage(items=out, next_cursor=next_cursor))


def add_routes(api: web.Application) -> None:
    api.router.add_view("/channels/{handle}/subscription", SubscriptionView)
    api.router.add_view("/me/subscriptions", MySubscriptionsView)
    api.router.add_view("/me/feed", FeedView)
