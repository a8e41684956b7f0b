"""Alert sinks (Slack, webhook, plugins') and the notifier that delivers their queue."""
