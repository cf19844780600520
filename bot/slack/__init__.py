"""The Slack face of atlas-access: directory, notifier, Block Kit views, Bolt listeners and the HTTP server."""
