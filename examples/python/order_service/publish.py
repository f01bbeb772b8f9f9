"""The order service: submits orders. Prints one line per order: `task <task id> order <order id>`.

    python3 -m order_service.publish --count 3 --first-id 1 [--countdown 1.5]
"""
import argparse

from broker import make_app
from event_manager.types.order import Order, OrderLine

app = make_app("order")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--first-id", type=int, default=1)
    parser.add_argument("--countdown", type=float, default=None, help="seconds before the tasks may run (Celery's eta)")
    args = parser.parse_args()
    for order_id in range(args.first_id, args.first_id + args.count):
        order = Order(order_id, [OrderLine(1, 2, 3), OrderLine(2, 1, 4.5)])
        result = order.submit() if args.countdown is None else order.submit(countdown=args.countdown)
        print(f"task {result.id} order {order_id}", flush=True)


if __name__ == "__main__":
    main()
