"""A base class for plugins that provide one channel type, so each implements only
``send`` (the two channel hooks and the "not my slug" check live here once).

::

    class Mattermost(ChannelPlugin):
        channel_type = ChannelType("mattermost", "Mattermost", "...", MattermostSettings)

        def send(self, notification, settings, http):
            http.post(...)

    plugin = Mattermost()   # entry point: mattermost = "my_package:plugin"
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from alertgate.hookspecs import hookimpl
from alertgate.notify.outbound import OutboundHttp
from alertgate.notify.types import ChannelType, Notification


class ChannelPlugin:
    """Register an instance. Built-ins run ``trylast``: a third-party plugin implementing
    ``alertgate_send_notification`` for the same slug runs first and can take over."""

    channel_type: ClassVar[ChannelType]

    def send(self, notification: Notification, settings: Any, http: OutboundHttp) -> None:
        """Send ``notification``; raise :class:`alertgate.NotificationError` on failure.

        :param settings: The channel's validated settings (an instance of
            ``channel_type.settings_model``), secrets included.
        """
        raise NotImplementedError

    @hookimpl(trylast=True)
    def alertgate_channel_types(self) -> list[ChannelType]:
        return [self.channel_type]

    @hookimpl(trylast=True)
    def alertgate_send_notification(
        self, channel_type: str, notification: Notification, settings: BaseModel, http: OutboundHttp
    ) -> bool | None:
        if channel_type != self.channel_type.slug:
            return None
        self.send(notification, settings, http)
        return True
