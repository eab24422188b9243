"""Moderation: the review queue (`queue`), decisions (`services`), automatic flags
(`flagging`), campaigns and bulk decisions (`campaigns`), redactions and the queue's CSV export.
Pages: `views` (queue and review), `decision_views`, `campaign_views`."""
