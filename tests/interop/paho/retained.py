"""Retained messages: kept for later subscribers with retain set, replaced, cleared.

Prints {"late": [...], "after_clear": [...]}: what a subscriber that came after two retained
publishes got (then a live message), and what one that came after the clear got before a
live marker.
"""

from common import Peer, args, emit

port, version = args()
topic = f"ret/{version}"
pub = Peer(port, version, f"paho-ret-pub-{version}")
pub.connect()
pub.publish(topic, "first", 1, retain=True)
pub.publish(topic, "kept", 1, retain=True)

late = Peer(port, version, f"paho-ret-late-{version}")
late.connect()
late.subscribe(topic, 1)
late.wait_messages(1)
pub.publish(topic, "live", 1)
late.wait_messages(2)
late_messages = late.settle(0.1)

pub.publish(topic, b"", 1, retain=True)  # an empty retained message clears the topic
after = Peer(port, version, f"paho-ret-after-{version}")
after.connect()
after.subscribe("ret/#", 0)
pub.publish("ret/marker", "marker", 0)
after.wait_messages(1)
after_messages = after.settle(0.1)

for peer in (pub, late, after):
    peer.disconnect()
for m in late_messages + after_messages:
    m.pop("properties", None)
emit({"late": late_messages, "after_clear": after_messages})
