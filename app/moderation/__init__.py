"""The moderators' review queue and decisions."""
