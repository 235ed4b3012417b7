"""Watches ConfigMaps through the official Kubernetes Python client while it creates, changes
and deletes one; prints the events it saw as JSON lines ("TYPE name")."""
import json
import sys
import threading

from kubernetes import client, config, watch

namespace = sys.argv[1]
config.load_kube_config()
core = client.CoreV1Api()
listed = core.list_namespaced_config_map(namespace)
seen = []
ready = threading.Event()
done = threading.Event()


def follow():
    stream = watch.Watch()
    ready.set()
    for event in stream.stream(core.list_namespaced_config_map, namespace, resource_version=listed.metadata.resource_version, timeout_seconds=60):
        seen.append(f"{event['type']} {event['object'].metadata.name}")
        if event["type"] == "DELETED":
            stream.stop()
    done.set()


watcher = threading.Thread(target=follow, daemon=True)
watcher.start()
ready.wait()
body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="watched"), data={"a": "1"})
core.create_namespaced_config_map(namespace, body)
core.patch_namespaced_config_map("watched", namespace, {"data": {"a": "2"}})
core.delete_namespaced_config_map("watched", namespace)
done.wait(60)
print(json.dumps(seen))
