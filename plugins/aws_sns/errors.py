"""SNS-specific rejections that need an HTTP status besides 400 and 403.

Everything else the SNS layer raises is a plain :class:`alertgate.errors.MalformedDelivery` (400)
or :class:`alertgate.errors.ForbiddenDelivery` (403) with a stable code.
"""

from __future__ import annotations

from alertgate.errors import DeliveryRejected


class DeliveryTooLarge(DeliveryRejected):
    """413: the body is larger than any SNS delivery can be."""

    status_code = 413


class UpstreamUnavailable(DeliveryRejected):
    """503: a certificate could not be fetched for a transient reason (timeout, 5xx).

    503 makes SNS retry the delivery later instead of dropping it.
    """

    status_code = 503
