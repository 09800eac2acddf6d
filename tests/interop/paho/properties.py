"""MQTT 5.0 properties (only for VERSION 5): what a publisher sets reaches the subscriber, the
message expiry interval counts down, and a message that expires while its subscriber is
offline is not delivered; nor is a retained message once it has expired.

Prints {"live": message, "offline": [messages], "retained": [messages], "waited": seconds}.
"""

import time

from common import PacketTypes, Peer, args, emit, props

port, version = args()
if version != "5":
    raise SystemExit("properties.py is for MQTT 5.0 only")

sub = Peer(port, version, "paho-props-sub", clean=True, session_expiry=60)
sub.connect()
sub.subscribe("props/t", 1, properties=props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=9))
pub = Peer(port, version, "paho-props-pub")
pub.connect()
pub.publish(
    "props/t",
    "{\"x\": 1}",
    1,
    properties=props(
        PacketTypes.PUBLISH,
        PayloadFormatIndicator=1,
        MessageExpiryInterval=60,
        ContentType="application/json",
        ResponseTopic="props/reply",
        CorrelationData=b"\x00\x01corr",
        UserProperty=[("k", "v1"), ("k", "v2"), ("a", "b")],
    ),
)
live = sub.wait_messages(1)[0]

# Offline: a 1 s expiry passes, a 60 s one counts down.
sub.disconnect()
pub.publish("props/t", "short", 1, properties=props(PacketTypes.PUBLISH, MessageExpiryInterval=1))
pub.publish("props/t", "long", 1, properties=props(PacketTypes.PUBLISH, MessageExpiryInterval=60))
# Retained messages expire too.
for name, expiry in (("short", 1), ("long", 60)):
    pub.publish(
        f"props/retained/{name}",
        f"retained {name}",
        1,
        retain=True,
        properties=props(PacketTypes.PUBLISH, MessageExpiryInterval=expiry),
    )
started = time.monotonic()
time.sleep(2.1)
back = Peer(port, version, "paho-props-sub", clean=False, session_expiry=60)
back.connect()
back.wait_messages(1)
offline = back.settle(0.2)
late = Peer(port, version, "paho-props-late")
late.connect()
late.subscribe("props/retained/#", 1)
late.wait_messages(1)
retained = late.settle(0.1)
waited = time.monotonic() - started
late.disconnect()
back.disconnect()
pub.disconnect()
emit({"live": live, "offline": offline, "retained": retained, "waited": waited})
