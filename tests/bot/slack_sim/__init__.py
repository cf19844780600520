"""Tests of the fake Slack (bot/slack_sim): the Web API, views, Block Kit limits, payloads and the driver."""
