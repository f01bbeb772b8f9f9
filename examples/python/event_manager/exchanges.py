import os

from kombu import Exchange

# ORDER_EXCHANGE renames it, so that tests on a shared broker can use their own
ORDER_EXCHANGE = Exchange(os.environ.get("ORDER_EXCHANGE", "order"), type="topic")
