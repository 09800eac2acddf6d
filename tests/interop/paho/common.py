"""Shared helpers for the Paho interop scripts.

Every script is run as `/usr/bin/python3 SCRIPT PORT VERSION` (VERSION is "311" or "5"),
talks to the broker on 127.0.0.1:PORT, prints one JSON object on stdout and exits 0. Any
failure raises, which prints a traceback on stderr and exits non-zero. Every wait is bounded,
and an alarm ends the script if something still hangs.
"""

import json
import signal
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

HOST = "127.0.0.1"
WAIT = 5.0  # seconds any single wait may take

signal.alarm(30)  # backstop: the default SIGALRM action ends the process


def args():
    """(port, version) from the command line."""
    if len(sys.argv) != 3 or sys.argv[2] not in ("311", "5"):
        raise SystemExit("usage: SCRIPT PORT 311|5")
    return int(sys.argv[1]), sys.argv[2]


def emit(result):
    """Print the result for the test to parse."""
    print(json.dumps(result, sort_keys=True))
    sys.stdout.flush()


def props(packet_type, **values):
    """Build v5 Properties, e.g. props(PacketTypes.PUBLISH, ContentType="text/plain")."""
    p = Properties(packet_type)
    for name, value in values.items():
        setattr(p, name, value)
    return p


def props_to_json(properties):
    """A received Properties object as a JSON-friendly dict (Paho gives binary data as hex)."""
    if properties is None:
        return {}
    return properties.json()


class Peer:
    """One Paho client with its network loop in a thread, and every message it receives."""

    def __init__(self, port, version, client_id, clean=True, session_expiry=None):
        self.port = port
        self.v5 = version == "5"
        self.clean = clean
        self.session_expiry = session_expiry
        if self.v5:
            self.client = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)
        else:
            self.client = mqtt.Client(
                client_id=client_id, clean_session=clean, protocol=mqtt.MQTTv311
            )
        self.messages = []
        self.session_present = None
        self.connect_rc = None
        self._cond = threading.Condition()
        self._acks = {}
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    # callbacks (the v3 and v5 signatures differ in their tail)
    def _on_connect(self, client, userdata, flags, rc, *rest):
        with self._cond:
            self.session_present = bool(flags.get("session present"))
            self.connect_rc = int(rc.value) if hasattr(rc, "value") else int(rc)
            self._cond.notify_all()

    def _on_message(self, client, userdata, msg):
        entry = {
            "topic": msg.topic,
            "payload": msg.payload.decode("latin-1"),
            "qos": msg.qos,
            "retain": bool(msg.retain),
        }
        if self.v5:
            entry["properties"] = props_to_json(msg.properties)
        with self._cond:
            self.messages.append(entry)
            self._cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, granted, *rest):
        codes = [int(g.value) if hasattr(g, "value") else int(g) for g in granted]
        with self._cond:
            self._acks[mid] = codes
            self._cond.notify_all()

    def _wait(self, predicate, what):
        with self._cond:
            if not self._cond.wait_for(predicate, WAIT):
                raise TimeoutError(f"timed out waiting for {what}")

    def will(self, topic, payload, qos=0, retain=False, properties=None):
        self.client.will_set(topic, payload, qos, retain, properties)

    def connect(self, threaded=True):
        """Connect and wait for CONNACK; returns the session present flag.

        Threaded: the network loop runs in a thread from now on. Not threaded: the loop is run
        here only until CONNACK, and nothing more is read or sent (for `drop`).
        """
        self.session_present = None
        self.connect_rc = None
        if self.v5:
            p = None
            if self.session_expiry is not None:
                p = props(PacketTypes.CONNECT, SessionExpiryInterval=self.session_expiry)
            self.client.connect(HOST, self.port, 60, clean_start=self.clean, properties=p)
        else:
            self.client.connect(HOST, self.port, 60)
        if threaded:
            self.client.loop_start()
            self._wait(lambda: self.connect_rc is not None, "CONNACK")
        else:
            deadline = time.monotonic() + WAIT
            while self.connect_rc is None:
                if time.monotonic() > deadline:
                    raise TimeoutError("timed out waiting for CONNACK")
                self.client.loop(0.05)
        if self.connect_rc != 0:
            raise RuntimeError(f"connection refused: {self.connect_rc}")
        return self.session_present

    def subscribe(self, topic, qos=0, options=None, properties=None):
        """Subscribe and wait for SUBACK; returns its codes."""
        if options is not None:
            rc, mid = self.client.subscribe(topic, options=options, properties=properties)
        else:
            rc, mid = self.client.subscribe(topic, qos, properties=properties)
        if rc != 0:
            raise RuntimeError(f"subscribe failed: {rc}")
        self._wait(lambda: mid in self._acks, "SUBACK")
        return self._acks[mid]

    def publish(self, topic, payload, qos=0, retain=False, properties=None):
        """Publish and wait until it is acknowledged (QoS 1/2) or written (QoS 0)."""
        info = self.client.publish(topic, payload, qos, retain, properties)
        info.wait_for_publish(WAIT)
        if not info.is_published():
            raise TimeoutError(f"publish to {topic} not completed")

    def wait_messages(self, count):
        """Wait until at least `count` messages have arrived; returns them all."""
        self._wait(lambda: len(self.messages) >= count, f"{count} messages")
        with self._cond:
            return list(self.messages)

    def settle(self, seconds=0.2):
        """Give stray (duplicate or unexpected) messages a moment to arrive; returns all."""
        time.sleep(seconds)
        with self._cond:
            return list(self.messages)

    def disconnect(self):
        """Send DISCONNECT and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def drop(self):
        """Close the socket without DISCONNECT, as a crash would (after connect(threaded=False))."""
        self.client.socket().close()
