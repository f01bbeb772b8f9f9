"""The article's shared package: exchanges, event classes and the Event descriptor."""
from .event import Event, RetryLater

__all__ = ["Event", "RetryLater"]
