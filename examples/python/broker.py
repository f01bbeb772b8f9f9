"""The Celery app both services use: the broker from BROKER_URL, no result backend."""
import os

from celery import Celery


def make_app(name: str) -> Celery:
    app = Celery(name, broker=os.environ.get("BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"))
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        worker_redirect_stdouts=False,
        broker_connection_retry_on_startup=True,
    )
    return app
