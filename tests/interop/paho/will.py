"""Wills: a client whose socket closes without DISCONNECT has its will published; one that
sends DISCONNECT does not.

Prints {"watched": [...]}: what a subscriber to will/# received, ending with a live marker.
"""

from common import PacketTypes, Peer, args, emit, props

port, version = args()
watcher = Peer(port, version, f"paho-watcher-{version}")
watcher.connect()
watcher.subscribe("will/#", 2)

polite = Peer(port, version, f"paho-polite-{version}")
polite.will(f"will/polite-{version}", "should not be sent", 1)
polite.connect()
polite.disconnect()

crash = Peer(port, version, f"paho-crash-{version}")
will_props = None
if version == "5":
    will_props = props(
        PacketTypes.WILLMESSAGE,
        ContentType="text/plain",
        UserProperty=[("reason", "crash")],
    )
crash.will(f"will/crash-{version}", "gone away", 1, properties=will_props)
crash.connect(threaded=False)
crash.drop()

watcher.wait_messages(1)
marker = Peer(port, version, f"paho-marker-{version}")
marker.connect()
marker.publish("will/marker", "end", 0)
watcher.wait_messages(2)
watched = watcher.settle(0.1)
marker.disconnect()
watcher.disconnect()
emit({"watched": watched})
