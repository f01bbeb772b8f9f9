"""The Event descriptor of the article: a shared Celery task per routing key.

Declared on an attrs class, ``submit = Event(ORDER_EXCHANGE, 'order.v1.submit')``:

- ``Order.submit`` (on the class) is the Event, to register callbacks on;
- ``order.submit()`` (on an instance) publishes the instance, unstructured with cattrs, as the
  single keyword argument ``instance`` of the task named after the routing key, to the exchange
  with that routing key;
- a worker that imports the class runs every registered callback with the structured instance.
"""
from typing import Any, Callable, List, Optional, Type

import cattr
from celery import shared_task
from kombu import Exchange


class RetryLater(Exception):
    """Raised by a callback to have Celery run the task again later (``task.retry``)."""

    def __init__(self, countdown: float = 1.0):
        super().__init__(f"retry in {countdown} s")
        self.countdown = countdown


class Event:
    def __init__(self, exchange: Exchange, routing_key: str):
        self.exchange = exchange
        self.routing_key = routing_key
        self.callbacks: List[Callable[[Any], Any]] = []
        self.owner: Optional[Type[Any]] = None
        self.task = None

    def __set_name__(self, owner: Type[Any], name: str) -> None:
        self.owner = owner
        event = self

        @shared_task(name=self.routing_key, bind=True, ignore_result=True)
        def run(task, instance):
            message = cattr.structure(instance, event.owner)
            try:
                for callback in event.callbacks:
                    callback(message)
            except RetryLater as later:
                raise task.retry(countdown=later.countdown, max_retries=3)

        self.task = run

    def __get__(self, instance, owner):
        if instance is None:
            return self
        return lambda **options: self.publish(instance, **options)

    def register_callback(self, callback: Callable[[Any], Any]) -> Callable[[Any], Any]:
        self.callbacks.append(callback)
        return callback

    def publish(self, instance, **options):
        return self.task.apply_async(
            kwargs={"instance": cattr.unstructure(instance)},
            exchange=self.exchange,
            routing_key=self.routing_key,
            **options,
        )
