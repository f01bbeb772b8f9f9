from typing import List

import attr

from event_manager.event import Event
from event_manager.exchanges import ORDER_EXCHANGE


@attr.s(auto_attribs=True)
class OrderLine:
    id: int
    quantity: int
    price: float


@attr.s(auto_attribs=True)
class Order:
    # represent the submission of an order
    submit = Event(ORDER_EXCHANGE, "order.v1.submit")
    # represent the cancellation of an order
    chargeback = Event(ORDER_EXCHANGE, "order.v1.chargeback")

    id: int
    lines: List[OrderLine] = attr.ib(factory=list)
