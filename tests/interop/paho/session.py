"""Persistent sessions: a client that ends a persistent session and comes back gets what was
published meanwhile (QoS 1 and 2; not QoS 0), without subscribing again. A client whose
session was not persistent finds none.

3.1.1: clean_session=False. 5.0: clean_start=False with a session expiry interval of 60 s.
Prints {"persistent": {"present": [first, second], "received": [...]},
        "transient": {"present": [first, second], "received": [...]}}.
"""

from common import Peer, args, emit

port, version = args()


def run(client_id, persistent):
    topic = f"sess/{client_id}"
    expiry = 60 if persistent else None
    first = Peer(port, version, client_id, clean=not persistent, session_expiry=expiry)
    present = [first.connect()]
    first.subscribe(topic + "/#", 2)
    first.disconnect()

    pub = Peer(port, version, client_id + "-pub")
    pub.connect()
    pub.publish(topic + "/q0", "not queued", 0)
    for i in range(1, 6):
        pub.publish(topic + "/q1", f"q1-{i}", 1)
    for i in range(1, 4):
        pub.publish(topic + "/q2", f"q2-{i}", 2)
    pub.disconnect()

    second = Peer(port, version, client_id, clean=False, session_expiry=expiry)
    present.append(second.connect())
    if persistent:
        second.wait_messages(8)
    received = second.settle(0.2)
    second.disconnect()
    for m in received:
        m.pop("properties", None)
    return {"present": present, "received": received}


emit({
    "persistent": run(f"paho-persist-{version}", True),
    "transient": run(f"paho-transient-{version}", False),
})
