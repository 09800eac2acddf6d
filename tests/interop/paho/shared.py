"""Shared subscriptions: two members of $share/g/... split the messages between them.

Prints {"a": [payloads], "b": [payloads]}.
"""

import time

from common import Peer, args, emit

port, version = args()
topic = f"shared/{version}"
a = Peer(port, version, f"paho-share-a-{version}")
b = Peer(port, version, f"paho-share-b-{version}")
for member in (a, b):
    member.connect()
    member.subscribe(f"$share/g/{topic}", 1)
pub = Peer(port, version, f"paho-share-pub-{version}")
pub.connect()
for i in range(1, 21):
    pub.publish(topic, f"s-{i}", 1)


def total():
    return len(a.messages) + len(b.messages)


deadline = time.monotonic() + 5
while total() < 20 and time.monotonic() < deadline:
    time.sleep(0.01)
a.settle(0.2)
for peer in (pub, a, b):
    peer.disconnect()
emit({
    "a": [m["payload"] for m in a.messages],
    "b": [m["payload"] for m in b.messages],
})
