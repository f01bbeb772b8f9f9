"""The billing service: a Celery worker on its own queue, bound to every version of submit.

    celery -A billing_service.worker worker --pool=solo -Q billing_order

BILLING_RETRY_EVERY=n makes the callback ask for one retry (task.retry()) of every order whose id
is a multiple of n, as a callback that met a busy ledger would. BILLING_QUEUE renames the queue.
"""
import os

from celery import current_task
from kombu import Queue

from broker import make_app
from event_manager import RetryLater
from event_manager.exchanges import ORDER_EXCHANGE
from event_manager.types.order import Order

app = make_app("billing")
app.conf.task_queues = [Queue(os.environ.get("BILLING_QUEUE", "billing_order"), exchange=ORDER_EXCHANGE, routing_key="order.*.submit")]

RETRY_EVERY = int(os.environ.get("BILLING_RETRY_EVERY", "0"))


@Order.submit.register_callback
def billing_received(order: Order):
    request = current_task.request
    if RETRY_EVERY and order.id % RETRY_EVERY == 0 and request.retries == 0:
        print(f"billing retries task {request.id} for order {order.id}", flush=True)
        raise RetryLater(countdown=0.5)
    print(f"billing received a task for order {order} (task {request.id}, retries {request.retries})", flush=True)
