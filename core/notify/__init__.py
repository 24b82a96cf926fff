"""Notifications: the outbox, its dispatcher, routing rules and silences.

Channel types themselves (webhook, Slack, e-mail, PagerDuty, ...) are plugins
(``alertgate_channel_types`` and ``alertgate_send_notification``); nothing here knows one.
"""
