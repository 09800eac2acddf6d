"""Paho over a WebSocket listener: `websockets.py PORT CAFILE|-`.

Connects over ws (or wss trusting CAFILE), subscribes to ws/to-paho at QoS 1 and prints
"subscribed"; publishes "from paho" to ws/from-paho at QoS 1 and prints "acked" on its PUBACK;
prints "got PAYLOAD" for the first message on ws/to-paho, then disconnects and exits 0.
"""

import signal
import sys
import threading

import paho.mqtt.client as mqtt

signal.alarm(20)  # backstop: the default SIGALRM action ends the process

port, cafile = int(sys.argv[1]), sys.argv[2]
done = threading.Event()
client = mqtt.Client(client_id="paho-ws", transport="websockets")
client.ws_set_options(path="/mqtt")
if cafile != "-":
    client.tls_set(ca_certs=cafile)


def say(text):
    print(text)
    sys.stdout.flush()


def on_connect(c, userdata, flags, rc):
    if rc != 0:
        raise SystemExit(f"CONNACK {rc}")
    c.subscribe("ws/to-paho", qos=1)


def on_subscribe(c, userdata, mid, granted):
    say("subscribed")
    c.publish("ws/from-paho", "from paho", qos=1)


def on_publish(c, userdata, mid):
    say("acked")


def on_message(c, userdata, message):
    say(f"got {message.payload.decode()}")
    done.set()


client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_publish = on_publish
client.on_message = on_message
client.connect("127.0.0.1", port, 60)
client.loop_start()
if not done.wait(10):
    raise SystemExit("no message on ws/to-paho")
client.disconnect()
client.loop_stop()
