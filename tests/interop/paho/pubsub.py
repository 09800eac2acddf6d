"""Subscribe at QoS 0, 1 and 2; publish 20 messages at each QoS; report what arrived.

Prints {"granted": [...], "received": [{"topic", "payload", "qos", "retain"}, ...]}.
"""

from common import Peer, args, emit

port, version = args()
sub = Peer(port, version, f"paho-sub-{version}")
sub.connect()
granted = [sub.subscribe(f"paho/{version}/q{q}", q)[0] for q in (0, 1, 2)]
pub = Peer(port, version, f"paho-pub-{version}")
pub.connect()
for q in (0, 1, 2):
    for i in range(1, 21):
        pub.publish(f"paho/{version}/q{q}", f"q{q}-{i}", q)
sub.wait_messages(60)
received = sub.settle()
pub.disconnect()
sub.disconnect()
for m in received:
    m.pop("properties", None)
emit({"granted": granted, "received": received})
